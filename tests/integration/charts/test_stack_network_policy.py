"""The umbrella chart's NetworkPolicies, all charts together, allow every path the stack needs
and nothing else: proven by evaluating the rendered policies over the pods the release runs
(their pod templates as rendered), the revision pods the operator creates (its own label
builder) and pods around them (the local bridge CNI does not enforce policies).

Both the production values and the local overlay are checked: the overlay adds the stack's
own Prometheus, which must reach every metrics port it scrapes, the release's MLflow, the
MLflow the demo runs on the node's address, and the trace store (collector and Jaeger)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from llmops_infra.charts import CHARTS_DIR
from llmops_infra.charts.netpol import Pod, is_allowed
from llmops_infra.cluster.node_spec import NODE_IP
from llmops_operator.core.manifests.workloads import build_labels
from llmops_operator.core.spec.schema import template_of
from tests.integration.charts.render import Charts
from tests.unit.operator.sim import make_spec

NS = "ns"  # the namespace `Charts.render` installs into
WORKLOADS = {"Deployment", "StatefulSet"}


def release_pods(docs: list[dict[str, Any]]) -> dict[str, Pod]:
    """The release's long-running pods by name, with their pod templates' labels."""
    return {
        doc["metadata"]["name"]: Pod(NS, doc["spec"]["template"]["metadata"]["labels"])
        for doc in docs
        if doc["kind"] in WORKLOADS
    }


def known_pods(docs: list[dict[str, Any]]) -> dict[str, Pod | None]:
    release = release_pods(docs)
    revision = build_labels("chat", "1a2b3c4d", template_of(make_spec()))
    return {
        "gateway": release["r-rag-gateway"],
        "vllm": release["r-llm-inference"],
        "embedder": release["r-embedder"],
        "milvus": release["r-milvus"],
        "operator": release["r-llmops-operator"],
        "revision": Pod(NS, revision),  # a revision pod the operator made
        **({"stack-prometheus": release["r-prometheus"]} if "r-prometheus" in release else {}),
        **({"mlflow": release["r-mlflow"]} if "r-mlflow" in release else {}),
        **({"collector": release["r-otel-collector"]} if "r-otel-collector" in release else {}),
        **({"jaeger": release["r-jaeger"]} if "r-jaeger" in release else {}),
        "neighbour": Pod(NS, {"app": "something-else"}),
        "client": Pod("team-a", {"app": "client"}),
        "prometheus": Pod("monitoring", {"app.kubernetes.io/name": "prometheus"}),
        "dns": Pod("kube-system", {"k8s-app": "kube-dns"}),
        "elsewhere": Pod("team-b", {"app": "database"}),
        "outside": None,  # the API server, MLflow outside the cluster, the internet
    }


# (source, destination, port, protocol), for every values file
NEEDED = [
    ("client", "gateway", 8080, "TCP"),
    ("gateway", "vllm", 8000, "TCP"),
    ("gateway", "revision", 8000, "TCP"),
    ("gateway", "embedder", 8000, "TCP"),
    ("gateway", "milvus", 19530, "TCP"),
    ("prometheus", "vllm", 8000, "TCP"),
    ("prometheus", "revision", 8000, "TCP"),
    ("prometheus", "milvus", 9091, "TCP"),
    ("prometheus", "operator", 9090, "TCP"),
    ("prometheus", "gateway", 8080, "TCP"),
    ("operator", "outside", 443, "TCP"),  # the API server's Service
    ("operator", "outside", 6443, "TCP"),  # ... and its endpoints
    ("operator", "prometheus", 9090, "TCP"),  # analysis
    ("operator", "outside", 5000, "TCP"),  # an MLflow tracking server
    ("operator", "dns", 53, "UDP"),
    ("neighbour", "operator", 8080, "TCP"),  # its helm test pod, on the health port
]
FORBIDDEN = [
    ("neighbour", "vllm", 8000, "TCP"),
    ("neighbour", "revision", 8000, "TCP"),
    ("neighbour", "milvus", 19530, "TCP"),
    ("client", "vllm", 8000, "TCP"),
    ("client", "operator", 9090, "TCP"),
    ("neighbour", "operator", 9090, "TCP"),
    ("operator", "vllm", 8000, "TCP"),  # gates run as Jobs by default, not in the operator
    ("operator", "milvus", 19530, "TCP"),
    ("operator", "elsewhere", 5432, "TCP"),
]
FORBIDDEN_PRODUCTION = [  # the local overlay opens the node's address (its MLflow), any port
    ("operator", "outside", 22, "TCP"),
]
# the local overlay: the stack's Prometheus scrapes and is queried in the release namespace
NEEDED_LOCAL = [
    ("stack-prometheus", "vllm", 8000, "TCP"),
    ("stack-prometheus", "revision", 8000, "TCP"),
    ("stack-prometheus", "embedder", 8000, "TCP"),
    ("stack-prometheus", "milvus", 9091, "TCP"),
    ("stack-prometheus", "operator", 9090, "TCP"),
    ("stack-prometheus", "gateway", 8080, "TCP"),
    ("stack-prometheus", "outside", 6443, "TCP"),  # pod discovery
    ("stack-prometheus", "dns", 53, "UDP"),
    ("operator", "stack-prometheus", 9090, "TCP"),
    ("operator", "mlflow", 5000, "TCP"),  # the release's own MLflow
    ("operator", "gateway", 8080, "TCP"),  # its /readyz, before a gate run through it
    ("neighbour", "mlflow", 5000, "TCP"),  # gate Jobs, helm test
    ("mlflow", "dns", 53, "UDP"),
    # global.tracing: OTLP from the gateway, the operator and vLLM to the collector, to Jaeger
    ("gateway", "collector", 4318, "TCP"),
    ("operator", "collector", 4318, "TCP"),
    ("vllm", "collector", 4318, "TCP"),
    ("revision", "collector", 4318, "TCP"),
    ("collector", "dns", 53, "UDP"),
    ("collector", "jaeger", 4317, "TCP"),
    ("neighbour", "jaeger", 16686, "TCP"),  # its query API, from this namespace
]
FORBIDDEN_LOCAL = [
    ("client", "stack-prometheus", 9090, "TCP"),
    ("stack-prometheus", "elsewhere", 5432, "TCP"),
    ("stack-prometheus", "outside", 443 + 1, "TCP"),
    ("client", "mlflow", 5000, "TCP"),
    ("mlflow", "outside", 443, "TCP"),
    ("mlflow", "elsewhere", 5432, "TCP"),  # sqlite on its volume: no database to reach
    ("client", "collector", 4318, "TCP"),  # OTLP from another namespace
    ("gateway", "jaeger", 4317, "TCP"),  # spans go through the collector
    ("client", "jaeger", 16686, "TCP"),
    ("collector", "outside", 443, "TCP"),
    ("jaeger", "outside", 443, "TCP"),
    ("jaeger", "gateway", 8080, "TCP"),
]


def local_values() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (CHARTS_DIR / "llmops-stack" / "values-local.yaml").read_text()
    )
    return loaded


@pytest.fixture(scope="module", params=["production", "local"])
def stack(request: pytest.FixtureRequest, charts: Charts) -> tuple[str, list[dict[str, Any]]]:
    values = local_values() if request.param == "local" else {}
    return request.param, charts.render("llmops-stack", values)


def allowed(docs: list[dict[str, Any]], path: tuple[str, str, int, str]) -> bool:
    source, destination, port, protocol = path
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    pods = known_pods(docs)
    return is_allowed(policies, pods[source], pods[destination], port, protocol, NS)


def test_should_isolate_every_long_running_pod_of_the_release(
    stack: tuple[str, list[dict[str, Any]]],
) -> None:
    """Each pod the release runs is selected by some policy (a pod no policy selects is open
    both ways)."""
    from llmops_infra.charts.netpol import matches  # noqa: PLC0415

    _, docs = stack
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    open_pods = [
        name
        for name, pod in release_pods(docs).items()
        if not any(matches(p["spec"]["podSelector"], pod.labels) for p in policies)
    ]
    assert open_pods == []


def test_should_allow_every_path_the_stack_needs(stack: tuple[str, list[dict[str, Any]]]) -> None:
    kind, docs = stack
    needed = NEEDED + (NEEDED_LOCAL if kind == "local" else [])
    assert [path for path in needed if not allowed(docs, path)] == []


def test_should_deny_the_paths_it_does_not_need(stack: tuple[str, list[dict[str, Any]]]) -> None:
    kind, docs = stack
    forbidden = FORBIDDEN + (FORBIDDEN_LOCAL if kind == "local" else FORBIDDEN_PRODUCTION)
    assert [path for path in forbidden if allowed(docs, path)] == []


def test_should_let_the_operator_reach_the_demos_mlflow_only_in_the_local_overlay(
    charts: Charts,
) -> None:
    """`llmops demo`'s MLflow listens on the node's address on a free port: the overlay opens
    that address (any port) and nothing else; the production values do not."""
    local = charts.render("llmops-stack", local_values())
    production = charts.render("llmops-stack")
    egress = [
        rule
        for doc in local
        if doc["kind"] == "NetworkPolicy" and doc["metadata"]["name"] == "r-llmops-operator"
        for rule in doc["spec"]["egress"]
    ]

    assert {"to": [{"ipBlock": {"cidr": f"{NODE_IP}/32"}}]} in egress
    assert allowed(local, ("operator", "outside", 40123, "TCP"))
    assert not allowed(production, ("operator", "outside", 40123, "TCP"))


def test_should_let_process_gates_load_the_gateway_and_the_revisions(charts: Charts) -> None:
    """With `loadTest.runner: process` the gate's Locust runs in the operator pod."""
    docs = charts.render("llmops-stack", {"llmops-operator": {"loadTest": {"runner": "process"}}})

    assert allowed(docs, ("operator", "gateway", 8080, "TCP"))
    assert allowed(docs, ("operator", "revision", 8000, "TCP"))
    assert not allowed(docs, ("operator", "milvus", 19530, "TCP"))


def test_should_let_the_operator_ask_the_gateway_its_table_only_when_gates_go_through_it(
    charts: Charts,
) -> None:
    """With gates through the gateway (`loadTest.gatewayUrl`), the operator reads its
    ``/readyz`` before a run (`loadTest.verifyTableSeconds`); the gate's Job sends the load."""
    path = ("operator", "gateway", 8080, "TCP")
    assert not allowed(charts.render("llmops-stack", {}), path)
    through = {"gatewayUrl": "http://r-rag-gateway:8080"}
    docs = charts.render("llmops-stack", {"llmops-operator": {"loadTest": through}})
    assert allowed(docs, path)
    assert not allowed(docs, ("operator", "vllm", 8000, "TCP"))
    unverified = {"llmops-operator": {"loadTest": {**through, "verifyTableSeconds": 0}}}
    assert not allowed(charts.render("llmops-stack", unverified), path)
