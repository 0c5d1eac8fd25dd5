"""Where the charts live in the checkout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from llmops_infra.settings import REPO_ROOT

CHARTS_DIR = REPO_ROOT / "charts"
STACK_CHART = CHARTS_DIR / "llmops-stack"
CRD_PATH = CHARTS_DIR / "llmops-operator" / "crds" / "modeldeployments.llmops.dev.yaml"


def load_crd(path: Path = CRD_PATH) -> dict[str, Any]:
    """The ModelDeployment CustomResourceDefinition as a dict."""
    crd: dict[str, Any] = yaml.safe_load(path.read_text())
    return crd
