"""Tool venvs: chart checkers whose pins clash with the project's venv, each in its own venv.

checkov pins ``packaging==23.2`` (pytest 9 needs newer); the kserve SDK pins ``protobuf<7``,
``psutil<6``, ``pandas<3`` and ``python-dateutil<3``, which would downgrade what the gateway,
pymilvus, OpenTelemetry and Locust run on. So each runs from its own venv, built once by uv
from a lock that pins every package (``locks/<tool>.txt``) and shared by checkouts::

    <cache_dir>/tools/checkov-3.3.30/   ready once READY_MARKER holds the lock it was built from
    <cache_dir>/tools/kserve-0.21.0/

A lock that changes rebuilds the venv; a file lock keeps two test sessions from building the
same venv at once.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings

LOCKS_DIR = Path(__file__).resolve().parent / "locks"
READY_MARKER = ".llmops-tool-ready"
_BUILD_TIMEOUT_S = 900


@dataclass(frozen=True)
class ToolVenv:
    """One tool venv: the distribution it exists for and its pinned version."""

    name: str
    version: str

    @property
    def lock(self) -> Path:
        return LOCKS_DIR / f"{self.name}.txt"

    def path(self, settings: LocalSettings) -> Path:
        return settings.cache_dir / "tools" / f"{self.name}-{self.version}"

    def python(self, settings: LocalSettings) -> Path:
        return self.path(settings) / "bin" / "python"


CHECKOV = ToolVenv("checkov", "3.3.30")
KSERVE = ToolVenv("kserve", "0.21.0")


def is_ready(tool: ToolVenv, settings: LocalSettings) -> bool:
    """Built from the current lock (a half-built venv has no marker)."""
    marker = tool.path(settings) / READY_MARKER
    return marker.is_file() and marker.read_text() == tool.lock.read_text()


def find_uv(settings: LocalSettings, path: str | None) -> str:
    """uv from ``path`` (a PATH string), else the one `make` bootstraps, else next to Python."""
    candidates = [
        settings.tools_dir / "bootstrap" / "bin" / "uv",
        Path(sys.executable).parent / "uv",
    ]
    found = shutil.which("uv", path=path) or next((str(c) for c in candidates if c.is_file()), None)
    if found is None:
        raise LlmopsError("uv", "not found on PATH nor in .tools/bootstrap", "make install")
    return found


def ensure_tool_venv(tool: ToolVenv, settings: LocalSettings, env: Mapping[str, str]) -> Path:
    """The tool venv's python, building the venv first when it is missing or stale."""
    if f"\n{tool.name}=={tool.version}\n" not in tool.lock.read_text():
        raise LlmopsError(f"{tool.lock}", f"does not pin {tool.name}=={tool.version}")
    venv = tool.path(settings)
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{venv.name}.lock").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # a concurrent builder finishes first; then reuse
        if not is_ready(tool, settings):
            _build(tool, venv, find_uv(settings, env.get("PATH")), env)
    return tool.python(settings)


def _build(tool: ToolVenv, venv: Path, uv: str, env: Mapping[str, str]) -> None:
    if venv.exists():
        shutil.rmtree(venv)
    python = str(venv / "bin" / "python")
    steps = [
        # The project's own interpreter (3.11 on the build machines, as the locks assume).
        [uv, "venv", "--no-config", "--quiet", "--python", sys.executable, str(venv)],
        [uv, "pip", "sync", "--no-config", "--quiet", "--python", python, str(tool.lock)],
    ]
    for step in steps:
        result = subprocess.run(
            step,
            env={**env, "UV_PYTHON_DOWNLOADS": "never"},
            capture_output=True,
            text=True,
            check=False,
            timeout=_BUILD_TIMEOUT_S,
        )
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
            raise LlmopsError(
                f"{tool.name} tool venv",
                f"`{' '.join(step[:3])}` failed: {lines[-1]}",
                f"rm -rf {venv} and retry (needs the package index)",
            )
    (venv / READY_MARKER).write_text(tool.lock.read_text())
