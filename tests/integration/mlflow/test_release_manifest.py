"""The release manifest in a real MLflow tracking server: the operator's client logs it as a
run artifact tagged onto the model version, `llmops release` reads it back by
``models:/NAME/VERSION`` and refuses it when the recorded digest does not match."""

from __future__ import annotations

import uuid

import kopf
import pytest

from llmops.release import load_manifest
from llmops_contracts.errors import LlmopsError
from llmops_contracts.release import (
    ImageRef,
    ModelRecord,
    ReleaseManifest,
    Workload,
    manifest_digest,
)
from llmops_operator.clients import kube
from llmops_operator.clients.mlflow import MlflowRegistry, RegistryRejectedError
from llmops_operator.core.registry.manifest import MANIFEST_DIGEST_TAG, MANIFEST_RUN_TAG
from llmops_operator.core.state.status import RolloutStatus
from llmops_operator.handlers import record_manifest as handler
from llmops_operator.handlers.resolve_model import resolve_model
from llmops_operator.routers import GatewayRouter
from llmops_operator.settings import OperatorSettings
from tests.integration.mlflow.server import MlflowServer, Registry, tags_of
from tests.unit.operator.sim import T0, deployed, make_spec

SETTINGS = OperatorSettings(mlflow_timeout_s=10.0, serve_metrics=False)

MANIFEST = ReleaseManifest(
    model_deployment="ns/chat",
    revision="1",
    revision_hash="0ce2492a",
    recorded_at="2026-12-07T12:00:00+00:00",
    model=ModelRecord(
        name="gemma",
        revision="1",
        uri="s3://models/gemma",
        version="1",
        mlflow_ref="models:/gemma/1",
        digest="sha256:" + "e" * 64,
    ),
    workloads=[
        Workload(
            name="gw",
            chart="rag-gateway-0.1.0",
            values_hash="h",
            images={"gateway": ImageRef(image="llmops/rag-gateway:0.1.0")},
        )
    ],
)


def test_the_manifest_is_stored_with_the_version_and_read_back_by_reference(
    mlflow_server: MlflowServer, registry: Registry
) -> None:
    name = f"gemma-{uuid.uuid4().hex[:8]}"
    version = registry.register(name, "s3://models/gemma", {})
    digest = manifest_digest(MANIFEST)
    run_id = MlflowRegistry(mlflow_server.url, 10).log_release_manifest(
        name, version, MANIFEST.to_json(), digest
    )
    tags = tags_of(registry.version(name, version))
    assert tags[MANIFEST_RUN_TAG] == run_id and tags[MANIFEST_DIGEST_TAG] == digest
    run = registry.get("/runs/get", run_id=run_id)["run"]
    assert isinstance(run, dict) and run["info"]["status"] == "FINISHED"

    loaded = load_manifest(
        f"models:/{name}/{version}", namespace=None, tracking_uri=mlflow_server.url
    )
    assert loaded.manifest == MANIFEST and loaded.digest == digest

    # a digest tag that no longer matches the artifact: refused, naming both digests
    registry.post(
        "/model-versions/set-tag",
        {"name": name, "version": version, "key": MANIFEST_DIGEST_TAG, "value": "sha256:0"},
    )
    with pytest.raises(LlmopsError, match="not the sha256:0 recorded with it"):
        load_manifest(f"models:/{name}/{version}", namespace=None, tracking_uri=mlflow_server.url)


def test_a_version_without_a_manifest_says_so(
    mlflow_server: MlflowServer, registry: Registry
) -> None:
    name = f"gemma-{uuid.uuid4().hex[:8]}"
    version = registry.register(name, "s3://models/gemma", {})
    with pytest.raises(RegistryRejectedError, match="has no release manifest"):
        MlflowRegistry(mlflow_server.url, 10).read_release_manifest(name, version)


def test_a_promotion_records_its_manifest_in_the_registry_and_the_status(
    mlflow_server: MlflowServer, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`record_manifest` with the real MLflow server; only its Kubernetes I/O is faked (the
    namespace holds no workload and no routing table, the ConfigMap write is kept)."""
    name = f"gemma-{uuid.uuid4().hex[:8]}"
    version = registry.register(
        name,
        "s3://models/gemma",
        {"llmops.model.digest": "sha256:" + "f" * 64, "llmops.prompt.system": "3"},
    )
    spec, resolution = resolve_model(
        SETTINGS,
        make_spec(
            model={
                "name": "gemma",
                "mlflow": {"name": name, "version": version, "trackingUri": mlflow_server.url},
            }
        ),
        RolloutStatus(),
        None,
        generation=1,
        now=T0,
    )
    world = deployed(spec)
    written: list[dict[str, object]] = []
    monkeypatch.setattr(kube, "read_namespace_workloads", lambda _ns: ([], []))
    monkeypatch.setattr(kube, "ensure_config_map", lambda _ns, body: written.append(body))
    monkeypatch.setattr(GatewayRouter, "read_table", lambda _self, _ns: {})
    monkeypatch.setattr(kopf, "adopt", lambda _body: None)
    assert world.last is not None
    patch = kopf.Patch()
    handler.record_manifest(
        SETTINGS,
        spec=spec,
        resolution=resolution,
        raw_status=None,
        before=world.status,
        decision=world.last,
        namespace="ns",
        name="chat",
        now=T0,
        patch=patch,
    )
    recorded = patch.status[handler.STATUS_KEY]
    assert recorded["mlflowRunId"] and "error" not in recorded
    (config_map,) = written
    assert config_map["metadata"]["name"] == recorded["configMap"]  # type: ignore[index]
    loaded = load_manifest(
        f"models:/{name}/{version}", namespace=None, tracking_uri=mlflow_server.url
    )
    assert loaded.digest == recorded["digest"]
    assert loaded.manifest.model.digest == "sha256:" + "f" * 64
    assert loaded.manifest.model.mlflow_ref == f"models:/{name}/{version}"
    assert loaded.manifest.prompt_templates == {"system": "3"}
    assert [e.reason for e in world.last.events][-1] == "ReleaseManifestRecorded"
