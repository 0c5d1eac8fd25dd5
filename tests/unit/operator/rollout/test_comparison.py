"""Canary against stable: the spec, the queries both sides run, and how they are judged."""

from __future__ import annotations

import pytest

from llmops_operator.core.rollout.measurements import (
    Comparison,
    QueryTarget,
    SampleQuery,
    build_queries,
    combine,
    judge_ratio,
    judge_samples,
)
from llmops_operator.core.spec.schema import AnalysisSpec, CustomMetric
from llmops_operator.core.state.status import MeasurementResult

TARGET = QueryTarget("chat", "canary", "llm", "chat-aaaa1111", "chat-bbbb2222")
RATIO = Comparison(stable_promql="s", max_ratio=1.2)
SAMPLES = SampleQuery("c", "s", 300, 60, "increase", 0.95, 5)


def gate(**metric: object) -> AnalysisSpec:
    return AnalysisSpec.model_validate(
        {"interval": "1m", "count": 3, "metrics": [{"name": "ttft", **metric}]}
    )


def test_should_query_the_stable_the_same_way_over_the_same_window() -> None:
    spec = gate(signal="ttft-p95", compareTo="stable", maxRatio=1.2)

    (query,) = build_queries(spec, TARGET, 120)

    assert query.comparison is not None
    assert query.promql.replace('revision="canary"', 'revision="stable"') == (
        query.comparison.stable_promql
    )
    assert "[120s]" in query.comparison.stable_promql


def test_should_sample_each_side_over_its_interval_for_mann_whitney() -> None:
    spec = gate(signal="queue-depth", compareTo="stable", mannWhitney={"interval": "30s"})

    (query,) = build_queries(spec, TARGET, 300)

    assert query.comparison is not None
    samples = query.comparison.samples
    assert samples is not None
    assert (samples.range_s, samples.step_s, samples.direction) == (300, 30, "increase")
    assert 'pod=~"chat-aaaa1111-.*"' in samples.canary
    assert 'pod=~"chat-bbbb2222-.*"' in samples.stable


def test_should_fill_a_custom_querys_revision_with_stable_for_the_baseline() -> None:
    spec = gate(query='x{revision="{{revision}}"}[{{window}}]', compareTo="stable", minRatio=0.5)

    (query,) = build_queries(spec, TARGET, 60)

    assert query.promql == 'x{revision="canary"}[60s]'
    assert query.comparison is not None
    assert query.comparison.stable_promql == 'x{revision="stable"}[60s]'


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ({"signal": "ttft-p95", "maxRatio": 1.2}, "need compareTo"),
        ({"signal": "ttft-p95", "compareTo": "stable"}, "compareTo needs"),
        ({"signal": "ttft-p95", "query": "up", "max": 1}, "exactly one of query and signal"),
        ({"signal": "ttft-p42", "max": 1}, "is not one of"),
        ({"query": "up"}, "set max, min"),
    ],
)
def test_should_refuse_a_metric_that_cannot_be_judged(
    metric: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        CustomMetric.model_validate({"name": "m", **metric})


def test_should_fail_a_canary_twice_as_slow_and_pass_an_equal_one() -> None:
    assert judge_ratio(RATIO, 2.0, 1.0)[0] is MeasurementResult.FAILED
    assert judge_ratio(RATIO, 1.0, 1.0)[0] is MeasurementResult.SUCCESSFUL
    assert judge_ratio(RATIO, 1.0, None)[0] is MeasurementResult.INCONCLUSIVE
    assert judge_ratio(RATIO, 0.0, 0.0)[0] is MeasurementResult.SUCCESSFUL
    assert judge_ratio(RATIO, 0.1, 0.0)[0] is MeasurementResult.FAILED


def test_should_fail_samples_shifted_up_and_pass_samples_from_the_same_spread() -> None:
    stable = [1.0, 1.1, 0.9, 1.05, 0.95, 1.0]
    slower = [2 * x for x in stable]

    assert judge_samples(SAMPLES, slower, stable)[0] is MeasurementResult.FAILED
    assert judge_samples(SAMPLES, list(reversed(stable)), stable)[0] is (
        MeasurementResult.SUCCESSFUL
    )
    # Faster is not worse for direction "increase".
    assert judge_samples(SAMPLES, [x / 2 for x in stable], stable)[0] is (
        MeasurementResult.SUCCESSFUL
    )
    result, message, _ = judge_samples(SAMPLES, slower[:3], stable)
    assert result is MeasurementResult.INCONCLUSIVE
    assert "fewer than 5" in message


def test_should_let_the_worst_check_of_a_metric_decide() -> None:
    ok = (MeasurementResult.SUCCESSFUL, "ok")
    bad = (MeasurementResult.FAILED, "bad")
    unsure = (MeasurementResult.INCONCLUSIVE, "?")

    assert combine([ok, unsure, bad]) == (MeasurementResult.FAILED, "ok; ?; bad")
    assert combine([ok, unsure])[0] is MeasurementResult.INCONCLUSIVE
    assert combine([ok])[0] is MeasurementResult.SUCCESSFUL


@pytest.mark.parametrize(
    "metric",
    [
        {"signal": "drift", "max": 0.25},
        {"signal": "feedback-score", "min": 0.7},
        {"signal": "unanswered-ratio", "compareTo": "stable", "maxRatio": 1.5},
        {"signal": "retrieval-score-drift", "max": 0.1},
    ],
)
def test_should_accept_the_drift_and_feedback_signals_as_built_in_metrics(
    metric: dict[str, object],
) -> None:
    parsed = CustomMetric.model_validate({"name": "m", **metric})

    assert parsed.signal == metric["signal"]
    assert parsed.signal in (CustomMetric.model_fields["signal"].description or "")
