"""The metrics table and SLO gates: parsing, one verdict per SLO, the failing SLO named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from llmops_loadtest.core.gate import Gate, evaluate_gate, parse_slo
from llmops_loadtest.core.metrics import compute_metrics, compute_ratios, error_counts
from llmops_loadtest.core.records import ErrorKind
from llmops_loadtest.core.stats import RequestSlo
from tests.unit.loadtest.helpers import failed, ok


def test_metrics_over_a_hand_made_window() -> None:
    records = [
        ok(0, ttft_s=0.1, output_tokens=4, input_tokens=10),
        ok(1, ttft_s=0.3, output_tokens=6, input_tokens=20),
        failed(2),
        failed(3, ErrorKind.TIMEOUT),
    ]
    metrics = compute_metrics(records, window_s=10.0, request_slo=RequestSlo(ttft_s=0.2))
    assert metrics["requests"] == 4
    assert metrics["failures"] == 2
    assert metrics["error_ratio"] == 0.5
    assert metrics["requests_per_s"] == pytest.approx(0.4)
    assert metrics["output_tokens_per_s"] == pytest.approx(1.0)  # (4 + 6) / 10
    assert metrics["input_tokens"] == 30
    assert metrics["ttft_p50_s"] == pytest.approx(0.2)
    assert metrics["goodput_ratio"] == pytest.approx(0.25)  # 1 of 4
    assert metrics["goodput_rps"] == pytest.approx(0.1)
    assert error_counts(records) == {"http_5xx": 1, "timeout": 1}


def test_metrics_without_samples_are_none() -> None:
    metrics = compute_metrics([failed(0)], window_s=1.0, request_slo=None)
    assert metrics["ttft_p95_s"] is None
    assert metrics["goodput_ratio"] is None


def test_ratios_are_candidate_over_baseline() -> None:
    ratios = compute_ratios(
        {"a": 2.0, "b": 0.0, "c": None, "d": 0.0}, {"a": 3.0, "b": 1.0, "c": 1.0, "d": 0.0}
    )
    assert ratios == {"a": 1.5, "b": None, "c": None, "d": 1.0}


def test_parse_slo_reads_metric_operator_and_threshold() -> None:
    slo = parse_slo("  ttft_p95_s<=0.5 ")
    assert (slo.metric, slo.op, slo.threshold) == ("ttft_p95_s", "<=", 0.5)
    assert slo.expression == "ttft_p95_s <= 0.5"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ttft_p95 <= 0.5", "unknown metric 'ttft_p95'"),
        ("ttft_p95_s == 0.5", "is not 'metric"),
        ("ttft_p95_s <= fast", "is not 'metric"),
    ],
)
def test_parse_slo_refuses_what_it_cannot_judge(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_slo(text)


def test_gate_passes_only_when_every_slo_passes_and_names_the_failure() -> None:
    gate = Gate.model_validate(
        {"slos": ["ttft_p95_s <= 0.5", "error_ratio <= 0.01", "output_tokens_per_s >= 10"]}
    )
    metrics: dict[str, float | None] = {
        "ttft_p95_s": 0.8,
        "error_ratio": 0.0,
        "output_tokens_per_s": 12.0,
        "requests": 50.0,
    }
    verdict = evaluate_gate(gate, metrics)
    assert not verdict.passed
    assert [result.passed for result in verdict.results] == [False, True, True]
    assert verdict.headline() == "FAIL: ttft_p95_s <= 0.5 (observed 0.8)"
    passing = evaluate_gate(gate, {**metrics, "ttft_p95_s": 0.5})
    assert passing.passed
    assert passing.headline() == "PASS (3/3 SLOs met)"


def test_a_metric_without_samples_fails_its_slo() -> None:
    gate = Gate.model_validate({"slos": ["itl_p95_s <= 0.05"]})
    verdict = evaluate_gate(gate, {"itl_p95_s": None, "requests": 3.0})
    assert not verdict.passed
    assert verdict.results[0].reason == "no samples"


def test_too_few_requests_fails_the_gate() -> None:
    gate = Gate.model_validate({"slos": ["error_ratio <= 0.01"], "min_requests": 10})
    verdict = evaluate_gate(gate, {"error_ratio": 0.0, "requests": 3.0})
    assert not verdict.passed
    assert verdict.results[0].expression == "requests >= 10"


def test_ratio_slos_judge_candidate_over_baseline() -> None:
    gate = Gate.model_validate({"slos": ["error_ratio <= 0.1"], "ratios": ["ttft_p95_s <= 1.2"]})
    verdict = evaluate_gate(gate, {"error_ratio": 0.0, "requests": 9.0}, {"ttft_p95_s": 1.5})
    assert not verdict.passed
    assert verdict.failed[0].scope == "ratio"


def test_goodput_slos_need_per_request_targets() -> None:
    with pytest.raises(ValidationError, match="request_slo"):
        Gate.model_validate({"slos": ["goodput_ratio >= 0.95"]})


def test_an_empty_gate_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least one SLO"):
        Gate.model_validate({})
