"""Write the release manifest of a newly stable revision, once (see
`core.registry.manifest` for the manifest and the ``.status.releaseManifest`` layout).

Runs after the decision is applied, like `record_release`: when the desired revision is the
stable one and no manifest names it yet, the workloads are read from the API server, the
manifest is built, kept in a ConfigMap the ModelDeployment owns and, for a revision pinned
from the registry, logged to MLflow as a run artifact tagged onto the version. MLflow being
unreachable or refusing is recorded in ``error`` and an Event; it is not retried (the
ConfigMap holds the manifest, and ``llmops release verify`` reads it from there).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import kopf

from llmops_contracts.release import manifest_digest, route_of, workloads_of
from llmops_operator.clients import kube
from llmops_operator.clients.mlflow import MlflowRegistry, RegistryError
from llmops_operator.core.manifests.release_manifest import (
    build_manifest_config_map,
    select_release_deployments,
)
from llmops_operator.core.registry.manifest import (
    ManifestStatus,
    build_release_manifest,
    passed_evaluations,
    should_record_manifest,
    stable_template,
)
from llmops_operator.core.registry.resolution import ModelResolution
from llmops_operator.core.rollout.interface import Decision, Transition
from llmops_operator.core.spec.schema import ModelDeploymentSpec, template_hash, template_of
from llmops_operator.core.state.status import RolloutStatus
from llmops_operator.routers import GatewayRouter
from llmops_operator.settings import OperatorSettings

STATUS_KEY = "releaseManifest"


def record_manifest(
    settings: OperatorSettings,
    *,
    spec: ModelDeploymentSpec,
    resolution: ModelResolution | None,
    raw_status: Any,
    before: RolloutStatus,
    decision: Decision,
    namespace: str,
    name: str,
    now: datetime,
    patch: kopf.Patch,
) -> None:
    after = decision.status
    desired_hash = template_hash(template_of(spec))
    recorded = ManifestStatus.from_raw(dict(raw_status or {}).get(STATUS_KEY))
    if not should_record_manifest(after, recorded, desired_hash):
        return
    deployments, pods = kube.read_namespace_workloads(namespace)
    chosen = select_release_deployments(deployments, name, stable_hash=desired_hash)
    registry = (
        MlflowRegistry(resolution.tracking_uri, settings.mlflow_timeout_s) if resolution else None
    )
    tags: dict[str, str] = {}
    error = ""
    if registry is not None and resolution is not None:
        try:  # the version's digest and prompt-template tags go into the manifest
            tags = registry.model_version(resolution.name, resolution.version).tags
        except RegistryError as err:
            error = str(err)  # recorded without them; the ConfigMap keeps it all the same
    manifest = build_release_manifest(
        namespace=namespace,
        name=name,
        status=after,
        template=stable_template(after) or template_of(spec),
        resolution=resolution,
        workloads=workloads_of(chosen, pods),
        version_tags=tags,
        # the promoting tick's status still holds the gates of the rollout
        load_test=before.load_test or after.load_test,
        evaluations=passed_evaluations(before.evaluation or after.evaluation),
        recorded_at=now,
        routing=(
            route_of(GatewayRouter(settings).read_table(namespace), spec.alias)
            if spec.route.router == "gateway"
            else None
        ),
    )
    digest = manifest_digest(manifest)
    config_map = build_manifest_config_map(name, namespace, manifest, digest)
    kopf.adopt(config_map)
    kube.ensure_config_map(namespace, config_map)
    run_id = ""
    if registry is not None and resolution is not None and not error:
        try:
            run_id = registry.log_release_manifest(
                resolution.name, resolution.version, manifest.to_json(), digest
            )
        except RegistryError as err:
            error = str(err)
    status = ManifestStatus(
        hash=desired_hash,
        config_map=config_map["metadata"]["name"],
        digest=digest,
        mlflow_run_id=run_id,
        recorded_at=now,
        error=error,
    )
    patch.status[STATUS_KEY] = status.to_raw()
    where = f"ConfigMap {status.config_map}" + (f" and MLflow run {run_id}" if run_id else "")
    decision.events.append(
        Transition(
            "ReleaseManifestRecorded", f"revision {after.stable_revision}: {digest} in {where}"
        )
    )
    if error:
        decision.events.append(
            Transition("ReleaseManifestNotInRegistry", error[:1000], warning=True)
        )
