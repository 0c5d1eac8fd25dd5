"""The Prometheus rules the umbrella renders: promtool accepts them and its unit tests pass."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.charts.render import Charts

UNIT_TESTS = Path(__file__).parent / "prometheus" / "llmops.rules.test.yaml"
RULES_FILE = "llmops.rules.yaml"


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
    """The rendered rules ConfigMap's file, next to a copy of the unit tests."""
    config_maps = [
        doc
        for doc in charts.render("llmops-stack")
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].endswith("-prometheus-rules")
    ]
    assert len(config_maps) == 1
    folder = tmp_path_factory.mktemp("rules")
    (folder / RULES_FILE).write_text(config_maps[0]["data"][RULES_FILE])
    shutil.copy(UNIT_TESTS, folder / UNIT_TESTS.name)
    return folder


def promtool_run(promtool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )


def test_should_render_rules_that_promtool_checks_without_errors(
    promtool: str, rules_dir: Path
) -> None:
    result = promtool_run(promtool, "check", "rules", RULES_FILE, cwd=rules_dir)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout


def test_should_fire_ttft_after_ten_minutes_and_no_leader_after_five_in_promtool_tests(
    promtool: str, rules_dir: Path
) -> None:
    result = promtool_run(promtool, "test", "rules", UNIT_TESTS.name, cwd=rules_dir)

    assert result.returncode == 0, result.stdout + result.stderr
