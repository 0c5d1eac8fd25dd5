"""What a load test logs to MLflow: params, every metric, the verdict as numbers (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from llmops_loadtest import cli
from llmops_loadtest.core.gate import Gate
from llmops_loadtest.core.profile import Profile
from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.mlflow_log import ModelVersionRef, build_metrics, build_params, parse_model_ref
from llmops_loadtest.run import build_report
from tests.unit.loadtest.helpers import failed, ok

START = 1000.0
PROFILE = Profile.model_validate(
    {"name": "smoke", "load": {"shape": "fixed_concurrency", "users": 2, "duration_s": 10}}
)
GATE = Gate.model_validate({"slos": ["ttft_p95_s <= 0.5", "error_ratio <= 0.01"]})


def fixture_report(labels: tuple[str, ...] = ("target",)) -> dict[str, Any]:
    """A small report: six fast requests and one failure per target."""
    records = [
        record
        for label in labels
        for record in [
            *(ok(START + t, ttft_s=0.1, target=label) for t in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)),
            failed(START + 7.0, target=label),
        ]
    ]
    versions = {
        label: {"url": f"http://{label}:8000", "models": [{"id": "gemma"}]} for label in labels
    }
    return build_report(
        PROFILE, GATE, records=records, started_at=START, versions=versions, workers=1,
        labels=list(labels),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("gemma/3", ModelVersionRef("gemma", "3")),
        ("team/gemma/12", ModelVersionRef("team/gemma", "12")),
    ],
)
def test_a_model_version_reference_is_name_slash_version(
    value: str, expected: ModelVersionRef
) -> None:
    assert parse_model_ref(value) == expected


@pytest.mark.parametrize("value", ["gemma", "gemma/latest", "/3", "gemma/"])
def test_anything_else_is_a_one_line_error_with_an_example(value: str) -> None:
    with pytest.raises(LoadtestError, match=r"is not NAME/VERSION, e\.g\. gemma/3"):
        parse_model_ref(value)


def test_params_name_the_profile_the_gate_and_what_each_target_served() -> None:
    params = build_params(fixture_report())
    assert params["profile"] == "smoke"
    assert params["mode"] == "run"
    assert params["gate.slos"] == "ttft_p95_s <= 0.5; error_ratio <= 0.01"
    assert params["target.target"] == "http://target:8000"
    assert params["target.target.models"] == "gemma"


def test_metrics_hold_every_percentile_and_the_verdict_as_numbers() -> None:
    report = fixture_report()
    metrics = build_metrics(report)
    for family in ("ttft", "itl", "tpot", "e2e"):
        for stat in ("p50", "p90", "p95", "p99", "mean", "max"):
            assert f"{family}_{stat}_s" in metrics
    assert metrics["ttft_p95_s"] == pytest.approx(0.1)
    assert metrics["error_ratio"] == pytest.approx(1 / 7)
    # the failed request breaks error_ratio <= 0.01: one of two SLOs met
    assert (metrics["verdict_passed"], metrics["slos_met"], metrics["slos_total"]) == (0, 1, 2)
    assert "goodput_ratio" not in metrics  # no data is left out, not logged as 0


def test_in_compare_mode_the_candidate_is_unprefixed_and_ratios_are_logged() -> None:
    metrics = build_metrics(fixture_report(("baseline", "candidate")))
    assert "ttft_p95_s" in metrics and "baseline.ttft_p95_s" in metrics
    assert metrics["ratio.ttft_p95_s"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mlflow-uri", "http://m:5000"], "give both or neither"),
        (["--mlflow-uri", "http://m:5000", "--mlflow-model", "gemma"], "not NAME/VERSION"),
    ],
)
def test_the_cli_refuses_bad_mlflow_options_before_any_load(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(
        cli.app,
        ["run", "--target", "http://127.0.0.1:9", "--profile", str(tmp_path / "p.yaml"),
         "--gate", str(tmp_path / "g.yaml"), *args],
    )  # fmt: skip
    assert result.exit_code == 2
    assert message in result.output
