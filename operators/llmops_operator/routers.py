"""Traffic routers behind one interface: the llmops gateway's routing-table ConfigMap
(default), Gateway API HTTPRoute backend weights, and KServe's InferenceService (the model
it describes and its canaryTrafficPercent; KServe runs the revisions, `core.manifests.kserve`).

Every router is idempotent: it writes the weights the machine decided and nothing when they
are already in place, so a tick can be repeated after any crash. `release_target` undoes a
router's writes when the ModelDeployment goes or moves to another alias (again idempotent).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Protocol

import yaml
from kubernetes.client.exceptions import ApiException

from llmops_operator.clients import kube
from llmops_operator.core.manifests.kserve import (
    InferenceServiceError,
    build_kserve_intent,
    build_predictor_patch,
)
from llmops_operator.core.manifests.router_weights import (
    build_backend_refs,
    build_http_route_rules,
    build_released_http_route_rules,
)
from llmops_operator.core.manifests.workloads import (
    build_backends,
    build_released_routing_table,
    build_routing_table,
)
from llmops_operator.core.rollout.claims import ALIAS_FIELD, HTTP_ROUTE_FIELD, Target
from llmops_operator.core.rollout.interface import TrafficShare
from llmops_operator.core.spec.schema import ModelDeploymentSpec
from llmops_operator.core.state.status import RolloutStatus
from llmops_operator.settings import OperatorSettings

HTTP_ROUTE = ("gateway.networking.k8s.io", "v1")  # group, version; plural httproutes
INFERENCE_SERVICE = ("serving.kserve.io", "v1beta1")  # plural inferenceservices


class TrafficRouter(Protocol):
    def apply(
        self,
        namespace: str,
        md_name: str,
        spec: ModelDeploymentSpec,
        traffic: Sequence[TrafficShare],
        status: RolloutStatus,
    ) -> None: ...


class GatewayRouter:
    """Writes ``routes.<alias>`` of the gateway's routing table ConfigMap, which every
    ModelDeployment of the namespace shares (optimistic lock: a concurrent writer makes the
    replace fail with 409, and the read-modify-write runs again, `kube.retry_on_conflict`)."""

    def __init__(self, settings: OperatorSettings) -> None:
        self.name, self.key = settings.routing_configmap, settings.routing_key

    @kube.retry_on_conflict
    def apply(
        self,
        namespace: str,
        md_name: str,
        spec: ModelDeploymentSpec,
        traffic: Sequence[TrafficShare],
        status: RolloutStatus,
    ) -> None:
        current, table = self._read(namespace)
        backends = build_backends(md_name, namespace, traffic)
        wanted = build_routing_table(table, spec.alias, backends, "")
        if wanted["routes"] == (table.get("routes") or {}):
            return
        self._write(namespace, current, wanted)

    @kube.retry_on_conflict
    def release(self, namespace: str, md_name: str, alias: str) -> bool:
        """Remove ``routes.<alias>`` if ``md_name`` wrote it; True when it was removed.

        Raises `RoutingTableConflictError` when another alias needs it as its embedder."""
        current, table = self._read(namespace)
        wanted = build_released_routing_table(table, alias, md_name)
        if wanted is None:
            return False
        self._write(namespace, current, wanted)
        return True

    def read_table(self, namespace: str) -> dict[str, Any]:
        """The table as stored (empty when the ConfigMap is missing)."""
        return self._read(namespace)[1]

    def _read(self, namespace: str) -> tuple[Any, dict[str, Any]]:
        """The ConfigMap (None when missing) and the table it holds."""
        try:
            current = kube.core().read_namespaced_config_map(self.name, namespace)
        except ApiException as err:
            if err.status != 404:
                raise
            return None, {}
        table = yaml.safe_load((current.data or {}).get(self.key) or "") or {}
        return current, table

    def _write(self, namespace: str, current: Any, wanted: dict[str, Any]) -> None:
        digest = hashlib.sha256(json.dumps(wanted["routes"], sort_keys=True).encode()).hexdigest()
        wanted["version"] = digest[:12]
        data = (current.data or {}) if current is not None else {}
        body = {
            "metadata": {"name": self.name, "labels": {"app.kubernetes.io/part-of": "llmops"}},
            "data": {**data, self.key: yaml.safe_dump(wanted, sort_keys=False)},
        }
        if current is None:
            kube.core().create_namespaced_config_map(namespace, body)
        else:
            body["metadata"]["resourceVersion"] = current.metadata.resource_version
            kube.core().replace_namespaced_config_map(self.name, namespace, body)


class HttpRouteRouter:
    """Owns the ``backendRefs`` of every rule of the named HTTPRoute (one per revision
    Service, see `core.manifests.router_weights`); the user's parentRefs, matches and filters
    stay. A replace with the read resourceVersion: a concurrent writer makes it fail with 409,
    and the read-modify-write runs again."""

    @kube.retry_on_conflict
    def apply(
        self,
        namespace: str,
        md_name: str,
        spec: ModelDeploymentSpec,
        traffic: Sequence[TrafficShare],
        status: RolloutStatus,
    ) -> None:
        if not traffic:
            return  # no stable revision yet: an empty rule would answer 500 for the route
        api = kube.custom()
        route = api.get_namespaced_custom_object(
            *HTTP_ROUTE, namespace, "httproutes", spec.route.http_route
        )
        refs = build_backend_refs(md_name, spec.route.port, traffic)
        rules = route.get("spec", {}).get("rules")
        wanted = build_http_route_rules(rules, refs)
        if rules == wanted:
            return
        route["spec"]["rules"] = wanted
        api.replace_namespaced_custom_object(
            *HTTP_ROUTE, namespace, "httproutes", spec.route.http_route, route
        )

    @kube.retry_on_conflict
    def release(self, namespace: str, md_name: str, route_name: str) -> bool:
        """Take ``md_name``'s backendRefs out of every rule; True when the route changed."""
        api = kube.custom()
        try:
            route = api.get_namespaced_custom_object(
                *HTTP_ROUTE, namespace, "httproutes", route_name
            )
        except ApiException as err:
            if err.status != 404:
                raise
            return False  # the user deleted the route: nothing points at us
        wanted = build_released_http_route_rules(route.get("spec", {}).get("rules"), md_name)
        if wanted is None:
            return False
        route["spec"]["rules"] = wanted
        api.replace_namespaced_custom_object(
            *HTTP_ROUTE, namespace, "httproutes", route_name, route
        )
        return True


class KServeRouter:
    """KServe runs every revision inside one InferenceService: the operator points its
    predictor at the revision it should describe and sets the latest revision's
    canaryTrafficPercent (`core.manifests.kserve`). A merge patch carrying the read
    resourceVersion: a concurrent writer makes it fail with 409, and the read-modify-write runs
    again."""

    @kube.retry_on_conflict
    def apply(
        self,
        namespace: str,
        md_name: str,
        spec: ModelDeploymentSpec,
        traffic: Sequence[TrafficShare],
        status: RolloutStatus,
    ) -> None:
        intent = build_kserve_intent(spec, status, traffic)
        if intent is None:
            return  # no revision yet, or one whose model is unknown: nothing to describe
        name = spec.route.inference_service or ""
        isvc = read_inference_service(namespace, name)
        if isvc is None:
            raise InferenceServiceError(
                f"InferenceService {name!r} not found: create it first (e.g. the "
                "llm-inference chart in mode: kserve)"
            )
        try:
            patch = build_predictor_patch(isvc, intent)
        except InferenceServiceError as err:
            raise InferenceServiceError(f"InferenceService {name!r}: {err}") from None
        if patch is None:
            return
        patch["metadata"] = {"resourceVersion": isvc["metadata"]["resourceVersion"]}
        kube.custom().patch_namespaced_custom_object(
            *INFERENCE_SERVICE, namespace, "inferenceservices", name, patch
        )


def read_inference_service(namespace: str, name: str) -> dict[str, Any] | None:
    """The InferenceService as JSON; None when it does not exist."""
    try:
        found: dict[str, Any] = kube.custom().get_namespaced_custom_object(
            *INFERENCE_SERVICE, namespace, "inferenceservices", name
        )
    except ApiException as err:
        if err.status != 404:
            raise
        return None
    return found


def router_for(spec: ModelDeploymentSpec, settings: OperatorSettings) -> TrafficRouter:
    """The one place the router is chosen."""
    if spec.route.router == "httpRoute":
        return HttpRouteRouter()
    if spec.route.router == "kserve":
        return KServeRouter()
    return GatewayRouter(settings)


def release_target(
    target: Target, namespace: str, md_name: str, settings: OperatorSettings
) -> bool:
    """Remove what ``md_name`` wrote to ``target`` (whether it may is `core.rollout.claims`'s call);
    True when something was removed."""
    if target.field == ALIAS_FIELD:
        return GatewayRouter(settings).release(namespace, md_name, target.name)
    if target.field == HTTP_ROUTE_FIELD:
        return HttpRouteRouter().release(namespace, md_name, target.name)
    # An InferenceService: nothing to remove. It is the user's (never adopted, so it outlives
    # the ModelDeployment) and both revisions it splits traffic between are KServe's own,
    # which live as long as it does: no traffic reaches anything this ModelDeployment owned.
    # The model and canaryTrafficPercent last written stay: they describe what serves.
    return False
