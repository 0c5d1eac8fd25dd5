"""Across charts: every rendered object validates offline, meets Pod Security "restricted",
and bad values are refused with a message naming the key."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from llmops_infra.charts import CHARTS_DIR, load_crd
from llmops_infra.charts.local import OVERLAY_FILE
from tests.integration.charts.render import (
    THIRD_PARTY_KINDS,
    Charts,
    pod_specs,
    restricted_violations,
    validate,
)

EVERYTHING_ON: dict[str, dict[str, Any]] = {
    "llm-inference": {
        "autoscaling": {"mode": "hpa"},
        "modelCache": {"prefetch": True},
        "metrics": {"serviceMonitor": {"enabled": True}},
        "resources": {"requests": {"cpu": "4", "memory": "32Gi"}},
        "tolerations": [{"key": "gpu", "operator": "Exists"}],
        "runtimeClassName": "nvidia",
    },
    "milvus": {
        "metrics": {"serviceMonitor": {"enabled": True}},
        "persistence": {"whenDeleted": "Delete"},
    },
    "rag-gateway": {
        "ingress": {"enabled": True, "tlsSecretName": "tls"},
        "autoscaling": {"enabled": True},
        "httpRoute": {"enabled": True, "parentRefs": [{"name": "gw"}], "hostnames": ["a.b"]},
        "metrics": {"serviceMonitor": {"enabled": True}},
        "auth": {"existingSecret": "keys"},
        "routingTable": {"configMap": {"name": "team-routes", "key": "routes.json"}},
    },
    "llmops-operator": {"metrics": {"serviceMonitor": {"enabled": True}}, "replicaCount": 2},
}
VALUE_SETS = [
    *[(chart, {}) for chart in (*EVERYTHING_ON, "llmops-stack")],
    *EVERYTHING_ON.items(),
    ("llm-inference", {"mode": "kserve", "metrics": {"podMonitor": {"enabled": True}}}),
    ("llm-inference", {"autoscaling": {"mode": "keda", "kedaPrometheusAddress": "http://p:9090"}}),
    ("llmops-operator", {"watch": {"scope": "namespaced", "namespaces": ["a", "b"]}}),
    ("llmops-stack", {"milvus": {"enabled": False}, "rag-gateway": {"milvus": {"host": "ext"}}}),
    ("rag-gateway", {"routingTable": {"source": "builtIn"}}),
    # Traces: the collector and Jaeger of the release, every component exporting to them.
    ("llmops-stack", {"global": {"tracing": {"enabled": True}}}),
    # The local overlay (the real node): CPU vLLM, local images, extra volumes, tolerations.
    ("llmops-stack", yaml.safe_load((CHARTS_DIR / "llmops-stack" / OVERLAY_FILE).read_text())),
]
IDS = [f"{chart}-{i}" for i, (chart, _) in enumerate(VALUE_SETS)]


@pytest.mark.parametrize(("chart", "values"), VALUE_SETS, ids=IDS)
def test_should_render_only_objects_that_validate_for_kubernetes_1_35(
    charts: Charts, chart: str, values: dict[str, Any]
) -> None:
    checked = {
        f"{d['kind']}/{d['metadata']['name']}": validate(d) for d in charts.render(chart, values)
    }

    assert checked  # every object got a named check; unknown kinds raise


@pytest.mark.parametrize(("chart", "values"), VALUE_SETS, ids=IDS)
def test_should_meet_pod_security_restricted_by_default(
    charts: Charts, chart: str, values: dict[str, Any]
) -> None:
    specs = pod_specs(charts.render(chart, values))

    assert specs
    assert {name: restricted_violations(spec) for name, spec in specs.items()} == {
        name: [] for name in specs
    }


def test_should_list_every_unvendored_kind_with_a_reason() -> None:
    assert set(THIRD_PARTY_KINDS) == {
        "ServiceMonitor",
        "PodMonitor",
        "ScaledObject",
        "HTTPRoute",
        "InferenceService",
    }
    assert all(THIRD_PARTY_KINDS.values())


BAD_VALUES = [
    ("llm-inference", {"engine": {"tensorParallelSize": "two"}}, "tensorParallelSize"),
    ("llm-inference", {"engine": {"tensorParalelSize": 2}}, "tensorParalelSize"),
    ("llm-inference", {"gpu": {"count": 0}, "engine": {"tensorParallelSize": 2}}, "gpu.count"),
    ("llm-inference", {"model": {"name": "m", "revision": "1", "uri": "ftp://x"}}, "uri"),
    ("llm-inference", {"autoscaling": {"mode": "keda"}}, "autoscaling.kedaPrometheusAddress"),
    (
        "llm-inference",
        {
            "modelCache": {"prefetch": True},
            "model": {"name": "m", "revision": "1", "uri": "s3://b/m"},
        },
        "modelCache.prefetch",
    ),
    ("llm-inference", {"image": {"repository": "vllm/vllm-openai", "tag": "latest"}}, "tag"),
    ("milvus", {"persistence": {"whenDeleted": "Sometimes"}}, "whenDeleted"),
    # Values no gateway setting reads: refused naming the key and where it went.
    ("rag-gateway", {"rag": {"chunkSize": 100, "chunkOverlap": 100}}, "rag.chunkOverlap"),
    ("rag-gateway", {"rag": {"topK": 4}}, "rag.topK: removed"),
    ("rag-gateway", {"milvus": {"collection": "documents"}}, "milvus.collection: removed"),
    ("rag-gateway", {"embedding": {"dimension": 384}}, "embedding.dimension: removed"),
    ("rag-gateway", {"routes": []}, "routes: removed"),
    ("llmops-stack", {"rag-gateway": {"rag": {"topK": 4}}}, "rag.topK: removed"),
    ("rag-gateway", {"rag": {"maxContextChars": "lots"}}, "maxContextChars"),
    ("rag-gateway", {"inference": {"timeoutSecond": 60}}, "timeoutSecond"),
    ("rag-gateway", {"routingTable": {"source": "file"}}, "source"),
    ("rag-gateway", {"routingTable": {"configMap": {"key": "a/b.yaml"}}}, "key"),
    ("rag-gateway", {"routingTable": {"pollIntervalSeconds": 0}}, "pollIntervalSeconds"),
    ("rag-gateway", {"auth": {"existingSecret": "Keys_Secret"}}, "existingSecret"),
    (
        "llmops-stack",
        {"llm-inference": {"model": {"name": "other", "revision": "1", "uri": "hf://o/m"}}},
        "rag-gateway.inference.defaultModel",
    ),
    ("llmops-stack", {"llm-inference": {"service": {"port": 9000}}}, "rag-gateway.inference.url"),
    ("llmops-stack", {"milvus": {"enabled": False}}, "rag-gateway.milvus.host"),
    ("llmops-stack", {"embedder": {"enabled": False}}, "rag-gateway.embedding.url"),
    ("llmops-stack", {"embedder": {"model": {"name": "bge-small"}}}, "rag-gateway.embedding.model"),
    ("llmops-stack", {"embedder": {"service": {"port": 9000}}}, "rag-gateway.embedding.url"),
    ("rag-gateway", {"httpRoute": {"enabled": True}}, "httpRoute.parentRefs"),
    (
        "llmops-operator",
        {"replicaCount": 2, "leaderElection": {"enabled": False}},
        "leaderElection.enabled",
    ),
    (
        "llmops-operator",
        {"leaderElection": {"leaseDurationSeconds": 10, "renewDeadlineSeconds": 10}},
        "leaderElection.renewDeadlineSeconds",
    ),
    ("llmops-operator", {"leaderElection": {"leaseDurationSeconds": 1.5}}, "leaseDurationSeconds"),
    ("llmops-operator", {"leaderElection": {"retryPeriodSeconds": 0}}, "retryPeriodSeconds"),
    (
        "llmops-stack",
        {"llm-inference": {"gpu": {"count": 0}, "engine": {"tensorParallelSize": 2}}},
        "gpu.count",
    ),
    ("llmops-stack", {"milvus": {"replicas": 3}}, "replicas"),
    ("llmops-operator", {"loadTest": {"gatewayUrl": "gateway:8080"}}, "gatewayUrl"),
    ("llmops-operator", {"loadTest": {"graceSeconds": 0}}, "graceSeconds"),
    ("llmops-operator", {"analysis": {"prometheusUrl": ""}}, "prometheusUrl"),
    ("llmops-stack", {"observability": {"alerts": {"queueDepth": "many"}}}, "queueDepth"),
]


@pytest.mark.parametrize(
    ("chart", "values", "key"), BAD_VALUES, ids=[f"{c}-{k}" for c, _, k in BAD_VALUES]
)
def test_should_refuse_bad_values_naming_the_key(
    charts: Charts, chart: str, values: dict[str, Any], key: str
) -> None:
    assert key in charts.error(chart, values)


def _objects_without_closed_properties(node: Any, path: str = "") -> list[str]:
    if not isinstance(node, dict):
        return []
    found = []
    if "properties" in node and node.get("additionalProperties") is not False:
        found.append(path or "/")
    for key, child in node.items():
        named = key in ("properties", "definitions") and isinstance(child, dict)
        for name, sub in child.items() if named else [("", child)]:
            found += _objects_without_closed_properties(sub, f"{path}/{key}/{name}".rstrip("/"))
    return found


@pytest.mark.parametrize("chart", [*EVERYTHING_ON, "llmops-stack"])
def test_should_close_every_values_object_to_unknown_keys(chart: str) -> None:
    schema = json.loads((CHARTS_DIR / chart / "values.schema.json").read_text())

    assert _objects_without_closed_properties(schema) == []


@pytest.mark.parametrize("chart", [*EVERYTHING_ON, "llmops-stack"])
def test_should_document_every_values_key(chart: str) -> None:
    lines = (CHARTS_DIR / chart / "values.yaml").read_text().splitlines()
    undocumented = [
        line.strip()
        for i, line in enumerate(lines)
        if line.strip()
        and not line.lstrip().startswith(("#", "-"))
        and not line.rstrip().endswith(":")  # a parent block; its leaves are documented
        and not any("# --" in above for above in lines[max(0, i - 4) : i])
    ]

    assert undocumented == []


def _structural_problems(node: dict[str, Any], path: str) -> list[str]:
    problems = []
    if "$ref" in node:
        problems.append(f"{path}: $ref")
    if "type" not in node and not node.get("x-kubernetes-int-or-string"):
        problems.append(f"{path}: no type")
    if "properties" in node and "additionalProperties" in node:
        problems.append(f"{path}: properties and additionalProperties")
    for name, child in node.get("properties", {}).items():
        problems += _structural_problems(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        problems += _structural_problems(node["items"], f"{path}[]")
    return problems


def test_should_ship_a_structural_model_deployment_crd_with_printer_columns() -> None:
    crd = load_crd()
    version = crd["spec"]["versions"][0]

    assert (crd["spec"]["group"], version["name"]) == ("llmops.dev", "v1alpha1")
    assert crd["spec"]["names"]["shortNames"] == ["md"]
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]] == [
        "Phase",
        "Stable",
        "Canary",
        "Weight",
        "Step",
        "Age",
    ]
    assert _structural_problems(version["schema"]["openAPIV3Schema"], "") == []


def test_should_accept_a_canary_model_deployment_against_the_shipped_crd() -> None:
    md = {
        "apiVersion": "llmops.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "gemma"},
        "spec": {
            "model": {"name": "gemma", "mlflow": {"name": "gemma", "version": "3"}},
            "route": {"httpRoute": "llm"},
            "strategy": {
                "canary": {
                    "steps": [
                        {"setWeight": 10},
                        {"analysis": {"interval": "1m", "count": 5, "maxTtftP95Seconds": 0.5}},
                        {"loadTest": {"users": 20, "duration": "5m"}},
                        {"pause": {}},
                        {"setWeight": 100},
                    ]
                }
            },
        },
    }

    assert validate(md).startswith("CRD")
