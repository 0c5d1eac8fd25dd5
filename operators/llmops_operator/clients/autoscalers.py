"""Revision autoscalers in the cluster: HPAs (autoscaling/v2) and KEDA ScaledObjects.

KEDA may be absent: listing ScaledObjects then answers 404 and counts as "none".
"""

from __future__ import annotations

from typing import Any

import kubernetes
from kubernetes.client.exceptions import ApiException

from llmops_operator.core.manifests.autoscalers import (
    HPA_API,
    is_foreign_autoscaler,
    is_foreign_scaled_object,
    is_made_by_keda,
)
from llmops_operator.core.manifests.workloads import LABEL_HASH, LABEL_MD

KEDA = ("keda.sh", "v1alpha1", "scaledobjects")


def _hpa() -> Any:
    return kubernetes.client.AutoscalingV2Api()


def _custom() -> Any:
    return kubernetes.client.CustomObjectsApi()


def foreign_targets(namespace: str, md_name: str) -> set[str]:
    """Deployments some HPA or ScaledObject not made by this operator targets."""
    found = _hpa().list_namespaced_horizontal_pod_autoscaler(namespace)
    client = kubernetes.client.ApiClient()
    targets = set()
    for item in found.items:
        raw = client.sanitize_for_serialization(item)  # type: ignore[no-untyped-call]
        target = is_foreign_autoscaler(raw, md_name)
        if target is not None:
            targets.add(target)
    for scaled_object in _scaled_objects(namespace):
        target = is_foreign_scaled_object(scaled_object, md_name)
        if target is not None:
            targets.add(target)
    return targets


def _scaled_objects(namespace: str, label_selector: str = "") -> list[dict[str, Any]]:
    """The namespace's ScaledObjects; none where KEDA is not installed (404)."""
    try:
        found = _custom().list_namespaced_custom_object(
            *KEDA[:2], namespace, KEDA[2], label_selector=label_selector
        )
    except ApiException as err:
        if err.status == 404:
            return []
        raise
    items: list[dict[str, Any]] = found.get("items", [])
    return items


def ensure(namespace: str, body: dict[str, Any]) -> None:
    """Create the HPA or ScaledObject, or patch it to the built bounds."""
    name = body["metadata"]["name"]
    if (body["apiVersion"], body["kind"]) == HPA_API:
        try:
            _hpa().create_namespaced_horizontal_pod_autoscaler(namespace, body)
        except ApiException as err:
            if err.status != 409:
                raise
            _hpa().patch_namespaced_horizontal_pod_autoscaler(name, namespace, body)
        return
    try:
        _custom().create_namespaced_custom_object(*KEDA[:2], namespace, KEDA[2], body)
    except ApiException as err:
        if err.status != 409:
            raise
        _custom().patch_namespaced_custom_object(*KEDA[:2], namespace, KEDA[2], name, body)


def delete_except(namespace: str, md_name: str, keep: set[tuple[str, str]]) -> None:
    """Delete this ModelDeployment's autoscalers not in ``keep`` ((kind, revision hash))."""
    selector = f"{LABEL_MD}={md_name}"
    for item in (
        _hpa().list_namespaced_horizontal_pod_autoscaler(namespace, label_selector=selector).items
    ):
        owners = [
            {"kind": o.kind, "apiVersion": o.api_version}
            for o in item.metadata.owner_references or []
        ]
        if is_made_by_keda({"ownerReferences": owners}):
            continue  # KEDA's HPA of one of our ScaledObjects: it goes with the ScaledObject
        if (HPA_API[1], (item.metadata.labels or {}).get(LABEL_HASH)) not in keep:
            _ignore_404(
                _hpa().delete_namespaced_horizontal_pod_autoscaler, item.metadata.name, namespace
            )
    for item in _scaled_objects(namespace, selector):
        metadata = item["metadata"]
        if ("ScaledObject", (metadata.get("labels") or {}).get(LABEL_HASH)) not in keep:
            _ignore_404(
                lambda name, ns: _custom().delete_namespaced_custom_object(
                    *KEDA[:2], ns, KEDA[2], name
                ),
                metadata["name"],
                namespace,
            )


def _ignore_404(call: Any, name: str, namespace: str) -> None:
    try:
        call(name, namespace)
    except ApiException as err:
        if err.status != 404:
            raise
