"""The few Kubernetes calls the operator makes (sync client; kopf runs handlers in threads)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import kubernetes
from kubernetes.client.exceptions import ApiException

from llmops_operator.core.manifests.workloads import LABEL_HASH, LABEL_MD
from llmops_operator.core.rollout.interface import RevisionObservation

MODEL_DEPLOYMENTS = ("llmops.dev", "v1alpha1")  # group, version; plural modeldeployments
CONFLICT_ATTEMPTS = 5  # read-modify-write tries before a conflict fails the tick
CONFLICT_PAUSE_S = 0.05  # base of the short, jittered pause between tries

P = ParamSpec("P")
R = TypeVar("R")


def retry_on_conflict(write: Callable[P, R], attempts: int = CONFLICT_ATTEMPTS) -> Callable[P, R]:
    """Run a read-modify-write again when the API server answers 409 (like client-go's
    ``RetryOnConflict``): another writer changed the object between our read and write, or
    created it first. Every ModelDeployment of a namespace writes the one routing-table
    ConfigMap, so two rollouts ticking together meet this routinely; failing the tick
    instead would hold the rollout for kopf's error backoff. ``write`` must read afresh on
    every call. Other errors, and the last conflict, are raised."""

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, attempts):
            try:
                return write(*args, **kwargs)
            except ApiException as err:
                if err.status != 409:
                    raise
                time.sleep(CONFLICT_PAUSE_S * attempt * (1 + random.random()))  # noqa: S311
        return write(*args, **kwargs)

    return run


def load_config() -> None:
    """In-cluster credentials when running in a pod, else KUBECONFIG (local runs, tests)."""
    try:
        kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]


def warm_up() -> None:
    """Build each API class once. The client validates every method's arguments with
    pydantic, built on a class's first instance: seconds for CoreV1Api. Paid at start-up, a
    standby that takes over (or a deletion handler, its first call) acts at once."""
    for make in (apps, core, custom):
        make()


def apps() -> Any:
    return kubernetes.client.AppsV1Api()


def core() -> Any:
    return kubernetes.client.CoreV1Api()


def custom() -> Any:
    return kubernetes.client.CustomObjectsApi()


def list_model_deployments(namespace: str) -> list[dict[str, Any]]:
    """Every ModelDeployment of the namespace as plain JSON (claims compare them)."""
    found = custom().list_namespaced_custom_object(
        *MODEL_DEPLOYMENTS, namespace, "modeldeployments"
    )
    return list(found.get("items") or [])


def observe_revisions(namespace: str, md_name: str) -> dict[str, RevisionObservation]:
    """Ready replicas of every revision Deployment of one ModelDeployment, by hash."""
    found = apps().list_namespaced_deployment(namespace, label_selector=f"{LABEL_MD}={md_name}")
    out: dict[str, RevisionObservation] = {}
    for item in found.items:
        revision_hash = (item.metadata.labels or {}).get(LABEL_HASH)
        if revision_hash:
            ready = (item.status.ready_replicas or 0) if item.status else 0
            replicas = item.spec.replicas if item.spec and item.spec.replicas is not None else 0
            out[revision_hash] = RevisionObservation(
                exists=True, ready_replicas=ready, replicas=replicas
            )
    return out


class InvalidObjectError(Exception):
    """The API server refused (422) an object built from the spec: the spec holds a value
    Kubernetes cannot take (a label, a name). Retrying cannot help; the spec must change."""


def describe_invalid(kind: str, name: str, err: ApiException) -> str:
    """One line: which object, and each field the API server named with its reason."""
    try:
        details = json.loads(err.body or "{}").get("details") or {}
        causes = [
            f"{c.get('field', '?')}: {c.get('message', '')}" for c in details.get("causes", [])
        ]
    except (ValueError, AttributeError):
        causes = []
    said = "; ".join(causes) or str(err.reason)
    return f"the API server refused {kind} {name} built from this spec: {said}"[:1000]


def ensure(kind: str, namespace: str, body: dict[str, Any], *, write_replicas: bool = True) -> None:
    """Create, or patch to the built manifest (strategic merge keeps others' fields).

    ``write_replicas=False``: an autoscaler owns ``spec.replicas``; it is sent only when the
    Deployment is created, and left out of every patch. Raises `InvalidObjectError` when the
    API server refuses the object as invalid.
    """
    name = body["metadata"]["name"]
    api, suffix = (apps(), "deployment") if kind == "Deployment" else (core(), "service")
    try:
        try:
            getattr(api, f"create_namespaced_{suffix}")(namespace, body)
        except ApiException as err:
            if err.status != 409:
                raise
            if not write_replicas:
                spec = {k: v for k, v in body["spec"].items() if k != "replicas"}
                body = {**body, "spec": spec}
            getattr(api, f"patch_namespaced_{suffix}")(name, namespace, body)
    except ApiException as err:
        if err.status == 422:
            raise InvalidObjectError(describe_invalid(kind, name, err)) from err
        raise


def scale(namespace: str, name: str, replicas: int) -> None:
    """Only the replicas (for revisions whose template is no longer known)."""
    apps().patch_namespaced_deployment(name, namespace, {"spec": {"replicas": replicas}})


def read_config_map_key(namespace: str, name: str, key: str) -> str | None:
    """One key of a ConfigMap (an evaluation step's golden set); None when the ConfigMap or
    the key is missing."""
    try:
        found = core().read_namespaced_config_map(name, namespace)
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    value = (found.data or {}).get(key)
    return None if value is None else str(value)


def delete_revisions_except(namespace: str, md_name: str, keep: set[str]) -> list[str]:
    """Delete the Deployments and Services of this ModelDeployment not in ``keep``."""
    selector = f"{LABEL_MD}={md_name}"
    deleted: list[str] = []
    for item in apps().list_namespaced_deployment(namespace, label_selector=selector).items:
        if (item.metadata.labels or {}).get(LABEL_HASH) not in keep:
            _ignore_404(apps().delete_namespaced_deployment, item.metadata.name, namespace)
            deleted.append(item.metadata.name)
    for item in core().list_namespaced_service(namespace, label_selector=selector).items:
        if (item.metadata.labels or {}).get(LABEL_HASH) not in keep:
            _ignore_404(core().delete_namespaced_service, item.metadata.name, namespace)
    return deleted


def _ignore_404(call: Any, name: str, namespace: str) -> None:
    try:
        call(name, namespace)
    except ApiException as err:
        if err.status != 404:
            raise


def read_namespace_workloads(namespace: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The llmops Deployments of the namespace and its pods, as the API's plain JSON (what
    ``kubectl get -o json`` shows: `llmops_contracts.release` reads both the same way)."""
    to_json = kubernetes.client.ApiClient().sanitize_for_serialization
    selector = "app.kubernetes.io/part-of=llmops"
    deployments = apps().list_namespaced_deployment(namespace, label_selector=selector).items
    pods = core().list_namespaced_pod(namespace).items
    return [to_json(d) for d in deployments], [to_json(p) for p in pods]  # type: ignore[no-untyped-call]


def ensure_config_map(namespace: str, body: dict[str, Any]) -> None:
    """Create, or replace the data of, a ConfigMap the operator owns."""
    try:
        core().create_namespaced_config_map(namespace, body)
    except ApiException as err:
        if err.status != 409:
            raise
        core().patch_namespaced_config_map(body["metadata"]["name"], namespace, body)
