"""``eval gate``: the verdict over every evaluation's checks, the files it reads, the Job
that runs it, and what is logged to MLflow (pure parts; the runs are integration tests)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from llmops_contracts.evaluation import (
    EvaluationGatePlan,
    EvaluationGateReport,
    RagEvalReport,
    RagGatePlan,
    RagMetrics,
    ThresholdCheck,
)
from llmops_contracts.release import (
    EVALUATIONS_KEY,
    gate_evaluation_records,
    parse_evaluation_records,
    records_to_json,
)
from llmops_loadtest.core.evaluation_gate import describe, judge, prefixed, summary_markdown
from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.eval_gate import load_plan
from llmops_loadtest.k8s.job import LoadtestJobSpec, build_loadtest_command
from llmops_loadtest.k8s.verdict import build_verdict_configmap
from llmops_loadtest.mlflow_log import build_evaluation_metrics, build_evaluation_params


def check(metric: str, value: float, bound: float, passed: bool) -> ThresholdCheck:
    return ThresholdCheck(metric=metric, value=value, bound=bound, passed=passed)


def test_a_missed_check_names_its_evaluation_the_value_and_the_side_it_fell_on() -> None:
    low = prefixed("rag", [check("token_f1", 0.123, 0.5, False)])[0]
    assert low.metric == "rag.token_f1"
    assert describe(low) == "rag token_f1 0.12 < 0.5"
    high = check("fairness.age.sentiment_gap", 0.75, 0.5, False)
    assert describe(high) == "fairness age.sentiment_gap 0.75 > 0.5"


def test_the_gate_passes_only_when_every_check_does() -> None:
    met = [check("rag.hit_rate", 1.0, 0.8, True), check("rag.mrr", 0.9, 0.6, True)]
    assert judge(met).passed and judge(met).headline == "PASS (2/2 thresholds met)"
    mixed = [*met, check("rag.token_f1", 0.12, 0.5, False), check("rag.mrr", 0.0, 0.6, False)]
    verdict = judge(mixed)
    assert not verdict.passed
    assert verdict.headline == "FAIL: rag token_f1 0.12 < 0.5; rag mrr 0.00 < 0.6"
    assert len(verdict.checks) == 4


def test_a_gate_that_judged_nothing_is_not_a_pass() -> None:
    assert judge([]).passed is False


def _report(passed: bool) -> EvaluationGateReport:
    metrics = RagMetrics(
        items=3, errors=0, error_ratio=0, hit_rate=0.0 if not passed else 1.0, recall_at_k=0,
        mrr=0, token_f1=0.12, latency_p50_seconds=0.5, latency_p95_seconds=0.9,
    )  # fmt: skip
    checks = [check("hit_rate", metrics.hit_rate, 0.8, passed)]
    rag = RagEvalReport(
        target="http://gw", model="rag", top_k=2, seed=7, dataset_version="v1",
        dataset_sha256="ab" * 32, metrics=metrics, checks=checks, passed=passed, results=[],
    )  # fmt: skip
    return EvaluationGateReport(
        profile={"name": "ev-1-s1"}, seed=7, verdict=judge(prefixed("rag", checks)), rag=rag
    )


def test_the_summary_and_the_verdict_configmap_carry_the_verdict_people_read() -> None:
    report = _report(passed=False)
    summary = summary_markdown(report)
    assert "**FAIL: rag hit_rate 0.00 < 0.8**" in summary
    assert "golden set v1 (sha256 abababababab), 3 questions, seed 7" in summary
    assert "| rag.hit_rate | 0.000 | 0.8 | FAILED |" in summary
    cm = build_verdict_configmap(
        "ev-verdict", "ns", report.model_dump(mode="json"), summary=summary
    )
    assert cm["data"]["passed"] == "false"
    assert cm["data"]["headline"] == "FAIL: rag hit_rate 0.00 < 0.8"
    assert cm["data"]["summary.md"] == summary


def test_mlflow_gets_every_aggregate_the_datasets_hashes_and_the_bounds() -> None:
    report = _report(passed=True).model_dump(mode="json")
    metrics = build_evaluation_metrics(report)
    assert metrics["rag.hit_rate"] == 1.0 and metrics["rag.token_f1"] == 0.12
    assert metrics["verdict_passed"] == 1.0 and metrics["checks_total"] == 1.0
    params = build_evaluation_params(report)
    assert params["rag.dataset_sha256"] == "ab" * 32 and params["seed"] == "7"
    assert params["bound.rag.hit_rate"] == "0.8"


def test_the_job_runs_eval_gate_with_the_load_tests_files_and_verdict() -> None:
    spec = LoadtestJobSpec(
        name="md-ev-1-s1", namespace="ns", image="img", target_url="http://gw",
        profile_yaml="", gate_yaml="", duration_s=60, command=("eval", "gate"),
        extra_args=("--mlflow-uri", "http://m", "--mlflow-model", "gemma/3"),
    )  # fmt: skip
    command = build_loadtest_command(spec)
    assert command[:3] == ["llmops-loadtest", "eval", "gate"]
    assert "--workers" not in command  # the load test's only
    assert command[command.index("--verdict-configmap") + 1] == "md-ev-1-s1-verdict"
    assert command[-4:] == ["--mlflow-uri", "http://m", "--mlflow-model", "gemma/3"]
    load_test = build_loadtest_command(dataclasses.replace(spec, command=("run",)))
    assert load_test[:2] == ["llmops-loadtest", "run"] and "--workers" in load_test


def test_a_plan_without_thresholds_for_an_evaluation_it_runs_is_refused(tmp_path: Path) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text("name: ev\nmodel: rag\nrag: {dataset: 'version: x'}\n")
    gate = tmp_path / "gate.yaml"
    gate.write_text("fairness: {sentiment_gap_max: 0.5}\n")
    with pytest.raises(LoadtestError, match="has no rag thresholds"):
        load_plan(profile, gate)


def test_the_gate_keeps_a_record_per_evaluation_where_its_dataset_lives() -> None:
    report = _report(passed=True)
    plan = EvaluationGatePlan(
        name="ev-1-s1", model="rag", seed=7,
        rag=RagGatePlan(dataset="version: v1", top_k=2, max_tokens=6,
                        source="configmap:rag-golden/golden.yaml"),
    )  # fmt: skip
    (record,) = gate_evaluation_records(report, plan)
    assert (record.kind, record.dataset, record.seed) == (
        "rag",
        "configmap:rag-golden/golden.yaml",
        7,
    )
    assert (record.top_k, record.max_tokens, record.dataset_sha256) == (2, 6, "ab" * 32)
    assert record.metrics["hit_rate"] == 1.0 and "latency_p95_seconds" not in record.metrics
    # Without a source (a run from files), the file the gate wrote it to.
    local = plan.model_copy(update={"rag": plan.rag.model_copy(update={"source": ""})})  # type: ignore[union-attr]
    assert gate_evaluation_records(report, local)[0].dataset == "golden.yaml"
    # The verdict ConfigMap carries them to the operator, and they read back the same.
    text = records_to_json([record])
    cm = build_verdict_configmap(
        "ev-verdict", "ns", report.model_dump(mode="json"), extra={EVALUATIONS_KEY: text}
    )
    assert parse_evaluation_records(cm["data"][EVALUATIONS_KEY]) == [record]
    with pytest.raises(ValueError, match="not a JSON list"):
        parse_evaluation_records('{"kind": "rag"}')
