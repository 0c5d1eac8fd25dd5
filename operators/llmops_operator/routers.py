"""Traffic routers behind one interface: the llmops gateway's routing-table ConfigMap
(default), Gateway API HTTPRoute backend weights, and KServe's canaryTrafficPercent.

Every router is idempotent: it writes the weights the machine decided and nothing when they
are already in place, so a tick can be repeated after any crash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Protocol

import yaml
from kubernetes.client.exceptions import ApiException

from llmops_operator.clients import kube
from llmops_operator.core.builders import (
    build_backends,
    build_routing_table,
    workload_name,
)
from llmops_operator.core.decision import TrafficShare
from llmops_operator.core.spec import ModelDeploymentSpec
from llmops_operator.settings import OperatorSettings


class TrafficRouter(Protocol):
    def apply(
        self,
        namespace: str,
        md_name: str,
        spec: ModelDeploymentSpec,
        traffic: Sequence[TrafficShare],
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
    """Sets the weights of the HTTPRoute's backendRefs that point at our revisions' Services
    (rules are replaced by one rule holding exactly our backends)."""

    def apply(
        self,
        namespace: str,
        md_name: str,
        spec: ModelDeploymentSpec,
        traffic: Sequence[TrafficShare],
    ) -> None:
        refs: list[dict[str, Any]] = [
            {
                "name": workload_name(md_name, share.revision_hash),
                "port": spec.route.port,
                "weight": share.weight,
            }
            for share in traffic
        ]
        patch = {"spec": {"rules": [{"backendRefs": refs}]}}
        kube.custom().patch_namespaced_custom_object(
            "gateway.networking.k8s.io", "v1", namespace, "httproutes", spec.route.http_route, patch
        )


class KServeRouter:
    """KServe owns both revisions inside one InferenceService: only the percent is ours."""

    def apply(
        self,
        namespace: str,
        md_name: str,
        spec: ModelDeploymentSpec,
        traffic: Sequence[TrafficShare],
    ) -> None:
        canary = next((s.weight for s in traffic if s.role == "canary"), 0)
        patch = {"spec": {"predictor": {"canaryTrafficPercent": canary}}}
        kube.custom().patch_namespaced_custom_object(
            "serving.kserve.io",
            "v1beta1",
            namespace,
            "inferenceservices",
            spec.route.inference_service,
            patch,
        )


def router_for(spec: ModelDeploymentSpec, settings: OperatorSettings) -> TrafficRouter:
    """The one place the router is chosen."""
    if spec.route.router == "httpRoute":
        return HttpRouteRouter()
    if spec.route.router == "kserve":
        return KServeRouter()
    return GatewayRouter(settings)
