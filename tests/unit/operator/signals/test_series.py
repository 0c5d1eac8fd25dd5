"""One definition per signal: the operator's analysis and the recording rules build the same
PromQL, differing only in window, selector and grouping."""

from __future__ import annotations

from llmops_operator.core.rollout.measurements import QueryTarget, build_queries
from llmops_operator.core.signals.rules import build_recording_groups
from llmops_operator.core.signals.series import SIGNALS, Scope, signal
from llmops_operator.core.spec.schema import AnalysisSpec

TARGET = QueryTarget("chat", "canary", "llm", "chat-1a2b3c4d", "chat-9f8e7d6c")


def test_should_build_the_operators_ttft_query_from_the_recorded_definition() -> None:
    gate = AnalysisSpec(interval="1m", count=1, max_ttft_p95_seconds=0.5)

    (query,) = build_queries(gate, TARGET, 300)

    ttft = signal("ttft-p95")
    assert query.promql == ttft.expr(Scope("300s", 'model="chat",revision="canary"'))
    # The recorded series is the same expression, grouped per revision and over 5m.
    assert ttft.recorded_expr("5m") == query.promql.replace(
        'model="chat",revision="canary"', ""
    ).replace("{}", "").replace("[300s]", "[5m]").replace(
        "sum by (le)", "sum by (le, namespace, model, revision)"
    )


def test_should_select_engine_signals_by_the_revisions_pods() -> None:
    gate = AnalysisSpec(interval="1m", count=1, max_queue_depth=4)

    (query,) = build_queries(gate, TARGET, 60)

    assert (
        query.promql
        == 'max by () (vllm:num_requests_waiting{namespace="llm",pod=~"chat-1a2b3c4d-.*"})'
    )


def test_should_count_no_error_series_as_zero_errors_but_no_requests_as_no_data() -> None:
    promql = signal("error-rate").expr(Scope("1m", 'model="m",revision="canary"'))

    assert " or 0 * sum by () (rate(llmops_gateway_requests_total" in promql
    assert promql.endswith(
        '/ sum by () (rate(llmops_gateway_requests_total{model="m",revision="canary"}[1m]))'
    )


def test_should_name_every_recorded_series_level_metric_operations() -> None:
    records = [rule["record"] for group in build_recording_groups() for rule in group["rules"]]

    assert len(records) == len(set(records))
    for record in records:
        level, metric, operation = record.split(":")
        assert level and metric and operation
        assert not metric.startswith("vllm:")
    assert "model_revision:llmops_gateway_time_to_first_token_seconds:p95_5m" in records
    assert "model_revision:vllm_inter_token_latency_seconds:p95_5m" in records


def test_should_read_inter_token_latency_from_the_metric_vllm_0_32_exports() -> None:
    expressions = " ".join(s.recorded_expr(s.windows[0]) for s in SIGNALS)

    assert "vllm:inter_token_latency_seconds_bucket" in expressions
    assert "vllm:time_per_output_token_seconds" not in expressions  # removed from vLLM


def test_should_record_the_ttft_slo_ratio_over_every_burn_rate_window() -> None:
    slow = signal("ttft-slow-ratio")

    assert set(slow.windows) == {"5m", "30m", "1h", "2h", "6h", "1d", "3d"}
    assert 'le="2.5"' in slow.recorded_expr("1h")


def test_should_gate_on_drift_as_the_canary_now_against_the_stables_reference() -> None:
    gate = AnalysisSpec.model_validate(
        {"interval": "1m", "count": 3, "metrics": [{"name": "d", "signal": "drift", "max": 0.25}]}
    )

    (query,) = build_queries(gate, TARGET, 300)

    drift = signal("drift")
    canary, stable = 'model="chat",revision="canary"', 'model="chat",revision="stable"'
    assert query.promql == drift.expr(Scope("300s", canary, reference=stable))
    assert query.max == 0.25
    # The canary over the gate's window, the stable over the reference window, per signal.
    for metric in (
        "llmops_gateway_prompt_length_tokens_count",
        "llmops_gateway_retrieval_top_score_count",
        "llmops_gateway_answers_total",
        "llmops_gateway_feedback_total",
    ):
        assert f"{metric}{{{canary}}}[300s]" in query.promql
        assert f"{metric}{{{stable}}}[7d]" in query.promql
    assert "[1h]" not in query.promql


def test_should_record_drift_from_the_same_definition_per_revision() -> None:
    rules = {r["record"]: r["expr"] for g in build_recording_groups() for r in g["rules"]}
    drift = signal("drift")

    recorded = rules["model_revision:llmops_gateway_drift:max_1h"]

    assert recorded == drift.expr(Scope("1h", by=("namespace", "model", "revision")))
    # Every revision of an alias against the alias's stable: matched on namespace and model.
    assert 'sum by (namespace, model) (rate(llmops_gateway_feedback_total{revision="stable"}' in (
        recorded
    )
    assert recorded.count("on (namespace, model) group_left ()") == 5  # 2 relative + 3 absolute


def test_should_leave_a_drift_signal_without_value_under_the_sample_floor() -> None:
    promql = signal("prompt-length-drift").expr(Scope("5m", 'model="m",revision="canary"'))

    assert (
        '(sum by () (increase(llmops_gateway_prompt_length_tokens_count{model="m",'
        'revision="canary"}[5m]))) >= 10'
    ) in promql
    assert promql.count(">= 10") == 2  # the candidate's window and the reference's
    # A relative shift never divides by less than one token.
    assert "clamp_min(" in promql and ", 1)" in promql


def test_should_evaluate_the_drift_rules_every_5_minutes_and_the_7d_records_every_15() -> None:
    intervals = {
        rule["record"]: group["interval"]
        for group in build_recording_groups()
        for rule in group["rules"]
    }

    assert intervals["model_revision:llmops_gateway_drift:max_1h"] == "5m"
    assert intervals["model_revision:llmops_gateway_feedback_score:drift_1h"] == "5m"
    assert intervals["model_revision:llmops_gateway_prompt_length_tokens:mean_7d"] == "5m"
    assert intervals["model_revision:llmops_gateway_unanswered:ratio_rate1h"] == "30s"
