"""Spec validation, analysis arithmetic and the pure builders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from llmops_contracts.routing import parse_routing_table
from llmops_operator.core.manifests.workloads import (
    RoutingTableConflictError,
    build_backends,
    build_deployment_spec,
    build_routing_table,
    build_service_spec,
)
from llmops_operator.core.rollout.interface import TrafficShare
from llmops_operator.core.rollout.measurements import GateVerdict, MetricQuery, evaluate, judge
from llmops_operator.core.spec.schema import AnalysisSpec, SpecError, parse_spec, template_of
from llmops_operator.core.state.status import AnalysisRun, MeasurementResult
from tests.unit.operator.sim import make_spec


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"strategy": {}}, "exactly one of strategy.canary and strategy.blueGreen"),
        ({"model": {"name": "m"}}, "exactly one of model.uri and model.mlflow"),
        ({"strategy": {"canary": {"steps": [{"setWeight": 10, "pause": {}}]}}}, "exactly one"),
        ({"strategy": {"canary": {"maxWeight": 50, "steps": [{"setWeight": 80}]}}}, "maxWeight"),
        ({"route": {"router": "httpRoute"}}, "route.httpRoute is required"),
        ({"engine": {"replicas": -1}}, "spec.engine.replicas"),
    ],
)
def test_should_reject_specs_that_cannot_roll_out(patch: dict[str, Any], message: str) -> None:
    raw = make_spec().model_dump(by_alias=True, exclude_none=True)
    raw.update(patch)
    with pytest.raises(SpecError, match=message):
        parse_spec(raw)


def test_judge_never_calls_missing_data_a_success() -> None:
    query = MetricQuery("ttft-p95", "q", max=0.5)
    assert judge(query, None)[0] is MeasurementResult.INCONCLUSIVE
    assert judge(query, float("nan"))[0] is MeasurementResult.INCONCLUSIVE
    assert judge(query, 0.1, error="connection refused")[0] is MeasurementResult.INCONCLUSIVE
    assert judge(query, 0.6)[0] is MeasurementResult.FAILED
    assert judge(query, 0.4)[0] is MeasurementResult.SUCCESSFUL


def test_failure_limit_counts_batches() -> None:
    gate = AnalysisSpec(interval="10s", count=3, failure_limit=1)

    def run(second: int, result: MeasurementResult) -> AnalysisRun:
        at = datetime(2026, 1, 1, 0, 0, second, tzinfo=UTC)
        return AnalysisRun(step=0, metric="m", result=result, at=at)

    ok, bad = MeasurementResult.SUCCESSFUL, MeasurementResult.FAILED
    assert evaluate(gate, [run(1, bad)])[0] is GateVerdict.RUNNING
    assert evaluate(gate, [run(1, bad), run(2, ok), run(3, ok)])[0] is GateVerdict.SUCCESSFUL
    assert evaluate(gate, [run(1, bad), run(2, bad)])[0] is GateVerdict.FAILED


def test_deployment_matches_the_inference_chart_labels_and_flags() -> None:
    template = template_of(make_spec())
    deployment = build_deployment_spec("chat", "abcd1234", template, 2, "hf://google/gemma")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["llmops.dev/model"] == "gemma" and labels["llmops.dev/revision"] == "1"
    assert deployment["spec"]["selector"]["matchLabels"] == {
        "llmops.dev/modeldeployment": "chat",
        "llmops.dev/revision-hash": "abcd1234",
    }
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "--model=google/gemma" in container["args"]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "1"}
    # the startup probe is the model-load budget (60 s at a 10 s period)
    assert container["startupProbe"]["failureThreshold"] == 6
    service = build_service_spec("chat", "abcd1234", template)
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_routing_table_is_what_the_gateway_parses() -> None:
    raw = make_spec().model_dump(by_alias=True, exclude_none=True)
    raw["route"] = {"chat": "completion"}
    template = template_of(parse_spec(raw))
    shares = [
        TrafficShare("aaaa1111", "stable", 80, template),
        TrafficShare("bbbb2222", "canary", 20, template),
    ]
    other = {
        "routes": {
            "minilm": {
                "kind": "embeddings",
                "backends": [{"name": "e", "url": "http://e/v1", "model": "minilm"}],
            }
        }
    }
    table = build_routing_table(other, "gemma", build_backends("chat", "ns", shares), "7")
    parsed = parse_routing_table(table)
    assert set(parsed.routes) == {"gemma", "minilm"}
    backends = parsed.routes["gemma"].backends
    assert [(b.revision, b.weight) for b in backends] == [("stable", 80), ("canary", 20)]
    assert backends[0].url == "http://chat-aaaa1111.ns.svc:8000/v1"


def test_routing_table_refuses_a_rag_embedder_that_is_not_an_alias() -> None:
    raw = make_spec().model_dump(by_alias=True, exclude_none=True)
    raw["route"] = {"rag": {"collection": "docs", "embedder": "nope"}}
    template = template_of(parse_spec(raw))
    backends = build_backends("chat", "ns", [TrafficShare("a", "stable", 100, template)])
    with pytest.raises(RoutingTableConflictError, match="nope"):
        build_routing_table(None, "gemma", backends, "1")
