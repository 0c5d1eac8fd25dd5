"""The Prometheus rules the umbrella renders: promtool accepts them and its unit tests pass
(every alert, firing and not: prometheus/llmops.rules.test.yaml)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from llmops_infra.observability.alerts import ALERTS
from llmops_operator.core.signals.rules import build_recording_groups
from tests.integration.charts.render import Charts

UNIT_TESTS = Path(__file__).parent / "prometheus" / "llmops.rules.test.yaml"
RULES_FILE = "llmops.rules.yaml"
BUDGETS_FILE = "llmops-budgets.rules.yaml"
VALUES = {"observability": {"tokenBudgets": {"search": 1000, "ads": 1000000}}}


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool not found: `make system-packages` (Debian package prometheus) installs it",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="module")
def rules_dir(charts: Charts, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rendered rules ConfigMap's files, next to a copy of the unit tests."""
    config_maps = [
        doc
        for doc in charts.render("llmops-stack", VALUES)
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].endswith("-prometheus-rules")
    ]
    assert len(config_maps) == 1
    folder = tmp_path_factory.mktemp("rules")
    for name in (RULES_FILE, BUDGETS_FILE):
        (folder / name).write_text(config_maps[0]["data"][name])
    shutil.copy(UNIT_TESTS, folder / UNIT_TESTS.name)
    return folder


def promtool_run(promtool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )


def test_should_render_rules_that_promtool_checks_without_errors(
    promtool: str, rules_dir: Path
) -> None:
    result = promtool_run(promtool, "check", "rules", RULES_FILE, BUDGETS_FILE, cwd=rules_dir)

    assert result.returncode == 0, result.stdout + result.stderr
    recorded = sum(len(g["rules"]) for g in build_recording_groups())
    assert f"SUCCESS: {recorded + len(ALERTS)} rules found" in result.stdout
    assert "SUCCESS: 2 rules found" in result.stdout  # one budget series per team


def test_should_render_an_empty_budget_group_that_promtool_accepts(
    promtool: str, charts: Charts, tmp_path: Path
) -> None:
    docs = charts.render("llmops-stack")
    data = next(d for d in docs if d["metadata"]["name"].endswith("-prometheus-rules"))["data"]
    (tmp_path / BUDGETS_FILE).write_text(data[BUDGETS_FILE])

    result = promtool_run(promtool, "check", "rules", BUDGETS_FILE, cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 0 rules found" in result.stdout


def test_should_fire_each_alert_only_on_its_condition_in_promtool_tests(
    promtool: str, rules_dir: Path
) -> None:
    result = promtool_run(promtool, "test", "rules", UNIT_TESTS.name, cwd=rules_dir)

    assert result.returncode == 0, result.stdout + result.stderr
