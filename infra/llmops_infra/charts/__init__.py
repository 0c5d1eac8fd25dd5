"""The llmops Helm charts, driven from a small platform config file.

``config.load_platform_config(path)`` reads and checks the file, ``values.build_stack_values``
turns it into llmops-stack values (pure), and `llmops_infra.charts.helm` installs, upgrades,
uninstalls or renders the umbrella chart through pyhelm3. ``CRD_PATH`` is the ModelDeployment
CRD as shipped in the operator chart, for code that needs its schema.
"""

from llmops_infra.charts.config import PlatformConfig, load_platform_config
from llmops_infra.charts.layout import CHARTS_DIR, CRD_PATH, STACK_CHART, load_crd
from llmops_infra.charts.values import build_stack_values

__all__ = [
    "CHARTS_DIR",
    "CRD_PATH",
    "STACK_CHART",
    "PlatformConfig",
    "build_stack_values",
    "load_crd",
    "load_platform_config",
]
