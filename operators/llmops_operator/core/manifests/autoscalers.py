"""Pure builders of a revision's autoscaler: an HPA or a KEDA ScaledObject (no I/O).

Both mirror charts/llm-inference (templates/hpa.yaml, templates/scaledobject.yaml) and scale
on queue depth, but per *revision*: they target the revision's Deployment and are named after
it, and the KEDA query selects that revision's pods only, so a canary and its stable scale on
their own queues. Bounds come from `core.rollout.scaling`.
"""

from __future__ import annotations

from typing import Any

from llmops_operator.core.manifests.workloads import LABEL_HASH, LABEL_MD, workload_name
from llmops_operator.core.rollout.scaling import AutoscalerBounds
from llmops_operator.core.spec.schema import AutoscalingSpec

HPA_API = ("autoscaling/v2", "HorizontalPodAutoscaler")
SCALED_OBJECT_API = ("keda.sh/v1alpha1", "ScaledObject")


def _labels(md_name: str, revision_hash: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "llm-inference",
        "app.kubernetes.io/instance": md_name,
        "app.kubernetes.io/part-of": "llmops",
        "app.kubernetes.io/managed-by": "llmops-operator",
        LABEL_HASH: revision_hash,
        LABEL_MD: md_name,
    }


def queue_depth_query(namespace: str, deployment: str) -> str:
    """Waiting requests summed over one revision's pods (KEDA divides by replicas)."""
    return f'sum(vllm:num_requests_waiting{{namespace="{namespace}",pod=~"{deployment}-.*"}})'


def build_autoscaler_spec(
    md_name: str,
    revision_hash: str,
    namespace: str,
    autoscaling: AutoscalingSpec,
    bounds: AutoscalerBounds,
) -> dict[str, Any]:
    """The revision's HPA (kind ``hpa``) or ScaledObject (kind ``keda``); no owner yet."""
    name = workload_name(md_name, revision_hash)
    target = f"{autoscaling.target_queue_depth:g}"  # a Kubernetes quantity / KEDA threshold
    metadata = {"name": name, "labels": _labels(md_name, revision_hash)}
    if autoscaling.kind == "hpa":
        api_version, kind = HPA_API
        spec: dict[str, Any] = {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": bounds.min_replicas,
            "maxReplicas": bounds.max_replicas,
            "metrics": [
                {
                    # Queue depth, not CPU: a GPU-bound engine shows load as waiting requests.
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": autoscaling.hpa_metric_name},
                        "target": {"type": "AverageValue", "averageValue": target},
                    },
                }
            ],
        }
    else:
        api_version, kind = SCALED_OBJECT_API
        assert autoscaling.prometheus_address is not None  # the spec validator requires it
        spec = {
            "scaleTargetRef": {"name": name},
            "minReplicaCount": bounds.min_replicas,
            "maxReplicaCount": bounds.max_replicas,
            "triggers": [
                {
                    "type": "prometheus",
                    "metadata": {
                        "serverAddress": autoscaling.prometheus_address,
                        "query": queue_depth_query(namespace, name),
                        "threshold": target,
                    },
                }
            ],
        }
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec}


def bounds_of(body: dict[str, Any]) -> AutoscalerBounds:
    """The bounds an HPA or ScaledObject manifest holds (for tests and the plugin)."""
    spec = body["spec"]
    if body["kind"] == HPA_API[1]:
        return AutoscalerBounds(int(spec.get("minReplicas", 1)), int(spec["maxReplicas"]))
    return AutoscalerBounds(int(spec["minReplicaCount"]), int(spec["maxReplicaCount"]))


def is_foreign_autoscaler(hpa: dict[str, Any], md_name: str) -> str | None:
    """The Deployment a *foreign* HPA targets, else None.

    Ours are labelled with ``llmops.dev/modeldeployment``; KEDA makes an HPA for each
    ScaledObject and owns it, so one owned by a ScaledObject named like its target is ours.
    """
    metadata = hpa.get("metadata") or {}
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    if ref.get("kind") != "Deployment" or not ref.get("name"):
        return None
    if (metadata.get("labels") or {}).get(LABEL_MD) == md_name:
        return None
    owners = metadata.get("ownerReferences") or []
    if any(o.get("kind") == "ScaledObject" and o.get("name") == ref["name"] for o in owners):
        return None
    return str(ref["name"])


def is_made_by_keda(metadata: dict[str, Any]) -> bool:
    """True for the HPA KEDA's controller makes for a ScaledObject (it owns the HPA and copies
    the ScaledObject's labels, ours included): deleting the ScaledObject removes it; the
    operator must never delete it on its own (KEDA would recreate it on every sync)."""
    owners = metadata.get("ownerReferences") or []
    return any(
        o.get("kind") == "ScaledObject" and str(o.get("apiVersion", "")).startswith("keda.sh/")
        for o in owners
    )


def is_foreign_scaled_object(scaled_object: dict[str, Any], md_name: str) -> str | None:
    """The Deployment a *foreign* KEDA ScaledObject targets, else None (ours carry
    ``llmops.dev/modeldeployment``).

    Read from the ScaledObject itself, not only from the HPA KEDA makes for it: that HPA
    appears only once KEDA's operator has reconciled (never, while KEDA is down), and until
    then the operator would write replicas KEDA is about to own.
    """
    metadata = scaled_object.get("metadata") or {}
    ref = (scaled_object.get("spec") or {}).get("scaleTargetRef") or {}
    # KEDA's defaults: an unnamed kind is an apps/v1 Deployment.
    if ref.get("kind", "Deployment") != "Deployment" or not ref.get("name"):
        return None
    if (metadata.get("labels") or {}).get(LABEL_MD) == md_name:
        return None
    return str(ref["name"])
