"""What a release manifest covers in the cluster, and the ConfigMap that keeps it (pure).

The workloads of a release: the llmops Deployments of the ModelDeployment's namespace
(``app.kubernetes.io/part-of=llmops``: the gateway, the operator, a chart-installed model)
that are no ModelDeployment's revision, and this ModelDeployment's own revision Deployments
(only the stable one when the operator records; every one when ``verify`` looks, so a
candidate or a left-over revision shows as a difference).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from llmops_contracts.release import PART_OF_LABEL, ReleaseManifest, route_of, workloads_of
from llmops_operator.core.manifests.workloads import LABEL_HASH, LABEL_MD
from llmops_operator.core.registry.manifest import (
    MANIFEST_KEY,
    build_release_manifest,
    config_map_name,
    stable_template,
)
from llmops_operator.core.registry.resolution import ModelResolution
from llmops_operator.core.spec.schema import parse_spec, template_of
from llmops_operator.core.state.status import RolloutStatus


def select_release_deployments(
    deployments: Iterable[Mapping[str, Any]], md_name: str, stable_hash: str | None = None
) -> list[Mapping[str, Any]]:
    """The Deployments a release of ``md_name`` is made of (``stable_hash``: only that revision
    of its own)."""
    kept = []
    for deployment in deployments:
        labels = (deployment.get("metadata") or {}).get("labels") or {}
        if labels.get(PART_OF_LABEL) != "llmops":
            continue
        owner = labels.get(LABEL_MD)
        ours = owner == md_name and stable_hash in (None, labels.get(LABEL_HASH))
        if owner is None or ours:
            kept.append(deployment)
    return kept


def build_manifest_config_map(
    md_name: str, namespace: str, manifest: ReleaseManifest, digest: str
) -> dict[str, Any]:
    """``<name>-release-<hash>`` holding ``manifest.json`` (the shell adopts it: it goes
    with the ModelDeployment)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": config_map_name(md_name, manifest.revision_hash),
            "namespace": namespace,
            "labels": {
                PART_OF_LABEL: "llmops",
                "app.kubernetes.io/managed-by": "llmops-operator",
                LABEL_MD: md_name,
                LABEL_HASH: manifest.revision_hash,
            },
            "annotations": {"llmops.dev/manifest-digest": digest},
        },
        "data": {MANIFEST_KEY: manifest.to_json()},
    }


def build_running_manifest(
    model_deployment: Mapping[str, Any],
    deployments: Iterable[Mapping[str, Any]],
    pods: Iterable[Mapping[str, Any]],
    routing_table: Any = None,
) -> ReleaseManifest:
    """The manifest of what runs now, built as the operator builds a release's: from the
    ModelDeployment (its stable revision's template, the version it pinned) and the
    namespace's Deployments and pods as the API shows them, and the gateway's routing table
    (decoded; read for ``route.router: gateway`` only). Every revision Deployment of the
    ModelDeployment counts, so a candidate or a left-over revision is a difference."""
    meta = model_deployment.get("metadata") or {}
    raw_status = dict(model_deployment.get("status") or {})
    status = RolloutStatus.from_raw(raw_status)
    name = str(meta.get("name", ""))
    spec = parse_spec(dict(model_deployment.get("spec") or {}))
    template = stable_template(status) or template_of(spec)
    chosen = select_release_deployments(deployments, name)
    routing = route_of(routing_table or {}, spec.alias) if spec.route.router == "gateway" else None
    return build_release_manifest(
        namespace=str(meta.get("namespace", "")),
        name=name,
        status=status,
        template=template,
        resolution=ModelResolution.from_raw(raw_status.get("modelResolution")),
        workloads=workloads_of(chosen, pods),
        routing=routing,
    )
