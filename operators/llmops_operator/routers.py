"""Traffic routers behind one interface: the llmops gateway's routing-table ConfigMap
(default), Gateway API HTTPRoute backend weights, and KServe's canaryTrafficPercent.

Every router is idempotent: it writes the weights the machine decided and nothing when they
are already in place, so a tick can be repeated after any crash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Protocol

import yaml
from kubernetes.client.exceptions import ApiException

from llmops_operator.clients import kube
from llmops_operator.core.builders import (
    build_backends,
    build_routing_table,
)
from llmops_operator.core.decision import TrafficShare
from llmops_operator.core.phases import Phase
from llmops_operator.core.routes import (
    build_backend_refs,
    build_canary_traffic_percent,
    build_http_route_rules,
)
from llmops_operator.core.spec import ModelDeploymentSpec
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
        phase: Phase | None,
    ) -> None: ...


class GatewayRouter:
    """Writes ``routes.<alias>`` of the gateway's routing table ConfigMap (optimistic lock:
    a conflicting writer makes the replace fail with 409 and the next tick retries)."""

    def __init__(self, settings: OperatorSettings) -> None:
        self.name, self.key = settings.routing_configmap, settings.routing_key

    def apply(
        self,
        namespace: str,
        md_name: str,
        spec: ModelDeploymentSpec,
        traffic: Sequence[TrafficShare],
        phase: Phase | None,
    ) -> None:
        api = kube.core()
        try:
            current = api.read_namespaced_config_map(self.name, namespace)
        except ApiException as err:
            if err.status != 404:
                raise
            current = None
        data = (current.data or {}) if current is not None else {}
        table = yaml.safe_load(data.get(self.key) or "") or {}
        backends = build_backends(md_name, namespace, traffic)
        routes = {**(table.get("routes") or {})}
        wanted = build_routing_table(table, spec.alias, backends, "")
        if wanted["routes"] == routes:
            return
        digest = hashlib.sha256(json.dumps(wanted["routes"], sort_keys=True).encode()).hexdigest()
        wanted["version"] = digest[:12]
        body = {
            "metadata": {"name": self.name, "labels": {"app.kubernetes.io/part-of": "llmops"}},
            "data": {**data, self.key: yaml.safe_dump(wanted, sort_keys=False)},
        }
        if current is None:
            api.create_namespaced_config_map(namespace, body)
        else:
            body["metadata"]["resourceVersion"] = current.metadata.resource_version
            api.replace_namespaced_config_map(self.name, namespace, body)


class HttpRouteRouter:
    """Owns the ``backendRefs`` of every rule of the named HTTPRoute (one per revision
    Service, see `core.routes`); the user's parentRefs, matches and filters stay. A replace
    with the read resourceVersion: a concurrent writer makes it fail with 409 and the next
    tick retries."""

    def apply(
        self,
        namespace: str,
        md_name: str,
        spec: ModelDeploymentSpec,
        traffic: Sequence[TrafficShare],
        phase: Phase | None,
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


class KServeRouter:
    """KServe owns both revisions inside one InferenceService: only the latest revision's
    percent is ours (`core.routes.build_canary_traffic_percent`)."""

    def apply(
        self,
        namespace: str,
        md_name: str,
        spec: ModelDeploymentSpec,
        traffic: Sequence[TrafficShare],
        phase: Phase | None,
    ) -> None:
        if not traffic:
            return
        percent = build_canary_traffic_percent(traffic, phase)
        patch = {"spec": {"predictor": {"canaryTrafficPercent": percent}}}
        # A merge patch of an unchanged value is a no-op for the API server (no new version).
        kube.custom().patch_namespaced_custom_object(
            *INFERENCE_SERVICE, namespace, "inferenceservices", spec.route.inference_service, patch
        )


def router_for(spec: ModelDeploymentSpec, settings: OperatorSettings) -> TrafficRouter:
    """The one place the router is chosen."""
    if spec.route.router == "httpRoute":
        return HttpRouteRouter()
    if spec.route.router == "kserve":
        return KServeRouter()
    return GatewayRouter(settings)
