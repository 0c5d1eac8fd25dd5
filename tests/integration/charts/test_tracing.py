"""The umbrella's traces: one switch and one endpoint (Helm's global values) reach the
gateway, the operator and vLLM; the collector and Jaeger run from the same config files
`llmops traces up` runs."""

from __future__ import annotations

from typing import Any

from llmops_infra.settings import LocalSettings
from llmops_infra.traces import config_dir
from llmops_operator.settings import OperatorSettings
from tests.integration.charts.render import Charts, find

ON = {"global": {"tracing": {"enabled": True}}}
COLLECTOR_URL = "http://r-otel-collector:4318/v1/traces"


def container(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return dict(find(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0])


def env_of(spec: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in spec.get("env", [])}


def endpoints(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Where each component sends its spans, as its settings or flags say."""
    vllm = container(docs, "r-llm-inference")
    return {
        "gateway": find(docs, "ConfigMap", "r-rag-gateway")["data"]["LLMOPS_GATEWAY_OTLP_ENDPOINT"],
        "operator": env_of(container(docs, "r-llmops-operator"))["LLMOPS_OPERATOR_OTLP_ENDPOINT"],
        "vllm": [a for a in vllm["args"] if a.startswith("--otlp-traces-endpoint")],
    }


def test_should_export_nothing_and_run_no_trace_store_by_default(charts: Charts) -> None:
    docs = charts.render("llmops-stack")
    names = {d["metadata"]["name"] for d in docs}

    assert not {"r-otel-collector", "r-jaeger"} & names
    assert endpoints(docs) == {"gateway": "", "operator": "", "vllm": []}
    # the operator's default is the chart's: no endpoint
    assert OperatorSettings.model_fields["otlp_endpoint"].default == ""


def test_should_wire_every_component_to_the_releases_collector_with_one_switch(
    charts: Charts,
) -> None:
    docs = charts.render("llmops-stack", ON)
    vllm_env = env_of(container(docs, "r-llm-inference"))
    collector_env = env_of(container(docs, "r-otel-collector"))

    assert endpoints(docs) == {
        "gateway": COLLECTOR_URL,
        "operator": COLLECTOR_URL,
        "vllm": [f"--otlp-traces-endpoint={COLLECTOR_URL}"],
    }
    # vLLM's exporter speaks gRPC unless told: the one endpoint is OTLP/HTTP
    assert vllm_env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] == "http/protobuf"
    assert vllm_env["OTEL_SERVICE_NAME"] == "gemma-3-270m"
    assert collector_env["LLMOPS_JAEGER_OTLP_ENDPOINT"] == "r-jaeger:4317"
    query = find(docs, "Service", "r-jaeger")["spec"]["ports"]
    assert {"name": "query", "port": 16686, "targetPort": "query"} in query


def test_should_send_to_an_external_collector_without_running_one(charts: Charts) -> None:
    values = {
        "global": {"tracing": {"enabled": True, "otlpEndpoint": "http://otel.mon:4318/v1/traces"}},
        "tracing": {"collector": {"enabled": False}, "jaeger": {"enabled": False}},
    }
    docs = charts.render("llmops-stack", values)

    assert not {"r-otel-collector", "r-jaeger"} & {d["metadata"]["name"] for d in docs}
    assert set(endpoints(docs)["vllm"]) == {"--otlp-traces-endpoint=http://otel.mon:4318/v1/traces"}
    assert endpoints(docs)["gateway"] == "http://otel.mon:4318/v1/traces"


def test_should_refuse_tracing_with_neither_a_collector_nor_an_endpoint(charts: Charts) -> None:
    error = charts.error("llmops-stack", {**ON, "tracing": {"collector": {"enabled": False}}})

    assert "global.tracing.otlpEndpoint" in error


def test_should_refuse_an_unknown_tracing_key_or_an_endpoint_that_is_no_url(
    charts: Charts,
) -> None:
    unknown = charts.error("llmops-stack", {"tracing": {"collector": {"replicas": 2}}})
    not_url = charts.error("llmops-stack", {"global": {"tracing": {"otlpEndpoint": "collector"}}})

    assert "replicas" in unknown
    assert "otlpEndpoint" in not_url


def test_should_run_the_collector_and_jaeger_with_the_files_llmops_traces_up_runs(
    charts: Charts,
) -> None:
    docs = charts.render("llmops-stack", ON)
    files = config_dir(LocalSettings())

    for name, file in (("r-otel-collector", "collector.yaml"), ("r-jaeger", "jaeger.yaml")):
        data = find(docs, "ConfigMap", name)["data"]["config.yaml"]
        assert data.strip() == (files / file).read_text().strip()
        assert container(docs, name)["args"] == ["--config=file:/etc/otel/config.yaml"]
