"""The rag-gateway chart's NetworkPolicies allow exactly the paths the stack needs: proven by
evaluating the rendered policies (the local bridge CNI does not enforce them)."""

from __future__ import annotations

from typing import Any

import pytest

from llmops_infra.charts.netpol import Pod, is_allowed
from tests.integration.charts.render import Charts, find

NS = "default"  # helm template puts namespaced objects in the release namespace
MONITORING = "monitoring"


def pods(docs: list[dict[str, Any]]) -> dict[str, Pod | None]:
    gateway = find(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    part = {"app.kubernetes.io/part-of": "llmops"}
    return {
        "gateway": Pod(NS, gateway),
        "vllm": Pod(NS, {**part, "app.kubernetes.io/component": "inference"}),
        "milvus": Pod(NS, {**part, "app.kubernetes.io/component": "vector-store"}),
        "neighbour": Pod(NS, {"app": "something-else"}),
        "client": Pod("team-a", {"app": "client"}),
        "prometheus": Pod(MONITORING, {"app.kubernetes.io/name": "prometheus"}),
        "collector": Pod(MONITORING, {"app.kubernetes.io/name": "otel-collector"}),
        "dns": Pod("kube-system", {"k8s-app": "kube-dns"}),
        "elsewhere": Pod("team-b", {"app": "database"}),
        "outside": None,  # the API server, the internet
    }


NEEDED = [
    ("client", "gateway", 8080, "TCP"),
    ("prometheus", "gateway", 8080, "TCP"),
    ("gateway", "vllm", 8000, "TCP"),
    ("gateway", "milvus", 19530, "TCP"),
    ("gateway", "collector", 4317, "TCP"),
    ("gateway", "collector", 4318, "TCP"),
    ("gateway", "dns", 53, "UDP"),
    ("gateway", "dns", 53, "TCP"),
    ("prometheus", "vllm", 8000, "TCP"),
    ("prometheus", "milvus", 9091, "TCP"),
]
FORBIDDEN = [
    ("neighbour", "vllm", 8000, "TCP"),
    ("neighbour", "milvus", 19530, "TCP"),
    ("client", "vllm", 8000, "TCP"),
    ("client", "gateway", 9999, "TCP"),
    ("gateway", "outside", 443, "TCP"),
    ("gateway", "elsewhere", 5432, "TCP"),
    ("gateway", "neighbour", 80, "TCP"),
    ("gateway", "collector", 9090, "TCP"),
]


@pytest.fixture(scope="module")
def rendered(charts: Charts) -> list[dict[str, Any]]:
    return charts.render("rag-gateway")


@pytest.mark.parametrize(("source", "destination", "port", "protocol"), NEEDED)
def test_should_allow_every_path_the_stack_needs(
    rendered: list[dict[str, Any]], source: str, destination: str, port: int, protocol: str
) -> None:
    policies = [d for d in rendered if d["kind"] == "NetworkPolicy"]
    known = pods(rendered)

    assert is_allowed(policies, known[source], known[destination], port, protocol, NS)


@pytest.mark.parametrize(("source", "destination", "port", "protocol"), FORBIDDEN)
def test_should_deny_the_paths_it_does_not_need(
    rendered: list[dict[str, Any]], source: str, destination: str, port: int, protocol: str
) -> None:
    policies = [d for d in rendered if d["kind"] == "NetworkPolicy"]
    known = pods(rendered)

    assert not is_allowed(policies, known[source], known[destination], port, protocol, NS)


def test_should_open_a_path_added_through_extra_egress(charts: Charts) -> None:
    extra = [
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-b"}}}]}
    ]
    docs = charts.render("rag-gateway", {"networkPolicy": {"extraEgress": extra}})
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    known = pods(docs)

    assert is_allowed(policies, known["gateway"], known["elsewhere"], 5432, "TCP", NS)
    assert not is_allowed(policies, known["gateway"], known["outside"], 443, "TCP", NS)
