"""Validate rendered KServe InferenceServices with the kserve SDK's models, in its tool venv.

The kserve SDK pins libraries the project's venv runs newer (see `llmops_infra.charts.toolvenv`),
so `llmops_infra.charts.kserve_models` runs there as a script and reports back as JSON.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from llmops_infra.charts.toolvenv import KSERVE, ensure_tool_venv
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings

CHECKER_SCRIPT = Path(__file__).resolve().parent / "kserve_models.py"
_TIMEOUT_S = 120


def check_inference_services(
    settings: LocalSettings, env: Mapping[str, str], docs: Sequence[dict[str, Any]]
) -> list[list[str]]:
    """For each InferenceService, the problems the kserve SDK's models find (path: message)."""
    python = ensure_tool_venv(KSERVE, settings, env)
    # -I keeps the script's folder off sys.path: its kserve_*.py files would shadow `kserve`.
    result = subprocess.run(
        [str(python), "-I", str(CHECKER_SCRIPT)],
        input=json.dumps(list(docs)),
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
        timeout=_TIMEOUT_S,
    )
    try:
        problems: list[list[str]] = json.loads(result.stdout)
    except json.JSONDecodeError:
        lines = result.stderr.strip().splitlines() or [f"exit code {result.returncode}"]
        raise LlmopsError(f"kserve {KSERVE.version} models", lines[-1]) from None
    return problems
