"""A revision the operator starts runs in the pod the llm-inference chart renders.

The operator builds revision Deployments in Python
(`llmops_operator.core.manifests.workloads`), the chart in templates: two renderings of one
pod. Each case below states the same deployment twice, as chart values and as a
ModelDeployment spec, renders both, and compares the pod templates field for field (only the
labels differ: the operator's add the revision hash).
"""

from __future__ import annotations

from typing import Any

import pytest

from llmops_infra.charts import load_crd
from llmops_operator.core.manifests.workloads import build_deployment_spec
from llmops_operator.core.spec.schema import parse_spec, template_of
from tests.integration.charts.render import Charts, find, validate

CANARY = {"canary": {"steps": [{"setWeight": 50}]}}
ON_REAL_NODE = {
    "nodeSelector": {"llmops.dev/node": "real"},
    "tolerations": [
        {
            "key": "llmops.dev/real-node",
            "operator": "Equal",
            "value": "true",
            "effect": "NoSchedule",
        }
    ],
}
ENGINE_VOLUMES = {
    "extraVolumes": [
        {
            "name": "engine-venv",
            "persistentVolumeClaim": {"claimName": "llmops-engine-venv", "readOnly": True},
        }
    ],
    "extraVolumeMounts": [{"name": "engine-venv", "mountPath": "/opt/engine", "readOnly": True}],
}

# (case, chart values, ModelDeployment spec): the same deployment in both languages.
CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "defaults-with-cache-claim",
        {
            "model": {"name": "gemma", "uri": "hf://google/gemma-3-270m"},
            "modelCache": {"existingClaim": "shared-cache"},
        },
        {
            "model": {"name": "gemma", "revision": "1", "uri": "hf://google/gemma-3-270m"},
            "engine": {"image": "vllm/vllm-openai:v0.32.0"},
            "pod": {"modelCacheClaim": "shared-cache"},
            "route": {},
            "strategy": CANARY,
        },
    ),
    (
        "gated-model-tensor-parallel",
        {
            "model": {"name": "llama", "uri": "hf://meta/llama", "credentialsSecret": "hf-token"},
            "image": {"repository": "registry.example/vllm", "tag": "v1", "pullPolicy": "Always"},
            "imagePullSecrets": ["pull"],
            "runtimeClassName": "nvidia",
            "engine": {
                "tensorParallelSize": 2,
                "maxModelLen": 4096,
                "dtype": "bfloat16",
                "gpuMemoryUtilization": 0.85,
                "quantization": "awq",
                "extraArgs": ["--enable-prefix-caching"],
                "extraEnv": [{"name": "VLLM_LOGGING_LEVEL", "value": "DEBUG"}],
            },
            "resources": {"requests": {"cpu": "4", "memory": "32Gi"}},
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}
                        ]
                    }
                }
            },
            "modelCache": {"enabled": False},
            "probes": {"startupBudgetSeconds": 600, "periodSeconds": 15},
        },
        {
            "model": {
                "name": "llama",
                "revision": "3",
                "uri": "hf://meta/llama",
                "credentialsSecret": "hf-token",
            },
            "engine": {
                "image": "registry.example/vllm:v1",
                "imagePullPolicy": "Always",
                "tensorParallelSize": 2,
                "maxModelLen": 4096,
                "dtype": "bfloat16",
                "gpuMemoryUtilization": 0.85,
                "quantization": "awq",
                "extraArgs": ["--enable-prefix-caching"],
                "extraEnv": [{"name": "VLLM_LOGGING_LEVEL", "value": "DEBUG"}],
                "loadBudgetSeconds": 600,
            },
            "pod": {
                "imagePullSecrets": ["pull"],
                "runtimeClassName": "nvidia",
                "resources": {"requests": {"cpu": "4", "memory": "32Gi"}},
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}
                            ]
                        }
                    }
                },
                "probes": {"periodSeconds": 15},
            },
            "route": {},
            "strategy": CANARY,
        },
    ),
    (
        "cpu-model-on-a-claim-on-the-real-node",
        {
            "model": {"name": "gemma", "uri": "pvc://llmops-models/gemma-3-270m-f32"},
            "image": {"repository": "docker.io/llmops/vllm-cpu", "tag": "0.32.0"},
            "gpu": {"count": 0},
            "engine": {"dtype": "float32", "extraEnv": [{"name": "HF_HUB_OFFLINE", "value": "1"}]},
            "resources": {"requests": {"cpu": "500m"}, "limits": {"memory": "8Gi"}},
            "sharedMemory": {"sizeLimit": "1Gi"},
            "modelCache": {"enabled": False},
            "podSecurity": {"runAsUser": 2000, "runAsGroup": 2000, "fsGroup": 2000},
            "probes": {"livenessFailureThreshold": 9},
            **ON_REAL_NODE,
            **ENGINE_VOLUMES,
        },
        {
            "model": {"name": "gemma", "uri": "pvc://llmops-models/gemma-3-270m-f32"},
            "engine": {
                "image": "docker.io/llmops/vllm-cpu:0.32.0",
                "gpus": 0,
                "dtype": "float32",
                "extraEnv": [{"name": "HF_HUB_OFFLINE", "value": "1"}],
            },
            "pod": {
                "resources": {"requests": {"cpu": "500m"}, "limits": {"memory": "8Gi"}},
                "sharedMemorySizeLimit": "1Gi",
                "podSecurity": {"runAsUser": 2000, "runAsGroup": 2000, "fsGroup": 2000},
                "probes": {"livenessFailureThreshold": 9},
                **ON_REAL_NODE,
                **ENGINE_VOLUMES,
            },
            "route": {},
            "strategy": CANARY,
        },
    ),
]


def _quantities_as_strings(resources: dict[str, Any]) -> dict[str, Any]:
    """``2`` and ``"2"`` are one quantity; the chart writes integers, the operator strings."""
    return {key: {name: str(q) for name, q in value.items()} for key, value in resources.items()}


def _comparable(pod: dict[str, Any]) -> dict[str, Any]:
    pod = {**pod, "containers": [dict(c) for c in pod["containers"]]}
    for container in pod["containers"]:
        container["resources"] = _quantities_as_strings(container.get("resources") or {})
    return pod


@pytest.mark.parametrize(("values", "raw"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_should_start_revisions_in_the_pod_the_chart_renders(
    charts: Charts, values: dict[str, Any], raw: dict[str, Any]
) -> None:
    chart = find(charts.render("llm-inference", values), "Deployment")
    template = template_of(parse_spec(raw))
    operator = build_deployment_spec("md", "0123abcd", template, 1, template.model.uri or "")

    assert _comparable(operator["spec"]["template"]["spec"]) == _comparable(
        chart["spec"]["template"]["spec"]
    )
    assert operator["spec"]["strategy"] == chart["spec"]["strategy"]
    chart_labels = chart["spec"]["template"]["metadata"]["labels"]
    operator_labels = operator["spec"]["template"]["metadata"]["labels"]
    # The labels the monitors and dashboards select on mean the same in both.
    for key in ("app.kubernetes.io/component", "app.kubernetes.io/part-of", "llmops.dev/model"):
        assert operator_labels[key] == chart_labels[key]


@pytest.mark.parametrize("raw", [case[2] for case in CASES], ids=[c[0] for c in CASES])
def test_should_admit_each_spec_through_the_crd_schema(raw: dict[str, Any]) -> None:
    document = {
        "apiVersion": "llmops.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "md", "namespace": "ns"},
        "spec": raw,
    }

    assert validate(document).startswith("CRD ")
    # The API server prunes what the schema does not declare: nothing of the spec may vanish.
    schema = load_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert _pruned(schema["properties"]["spec"], raw, "spec") == []


def _pruned(schema: dict[str, Any], value: Any, path: str) -> list[str]:
    """The paths under ``value`` that structural pruning would drop."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    if isinstance(value, dict):
        declared = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        dropped: list[str] = []
        for key, item in value.items():
            if key in declared:
                dropped += _pruned(declared[key], item, f"{path}.{key}")
            elif isinstance(extra, dict):
                dropped += _pruned(extra, item, f"{path}.{key}")
            else:
                dropped.append(f"{path}.{key}")
        return dropped
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _pruned(schema["items"], v, f"{path}[{i}]")]
    return []


def test_should_refuse_a_mount_without_its_volume() -> None:
    raw = {**CASES[2][2], "pod": {"extraVolumeMounts": [{"name": "x", "mountPath": "/x"}]}}

    with pytest.raises(ValueError, match=r"'x' is not one of pod.extraVolumes"):
        parse_spec(raw)
