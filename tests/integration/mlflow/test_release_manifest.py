"""The release manifest in a real MLflow tracking server: the operator's client logs it as a
run artifact tagged onto the model version, `llmops release` reads it back by
``models:/NAME/VERSION`` and refuses it when the recorded digest does not match."""

from __future__ import annotations

import uuid

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
from llmops_operator.clients.mlflow import MlflowRegistry, RegistryRejectedError
from llmops_operator.core.registry.manifest import MANIFEST_DIGEST_TAG, MANIFEST_RUN_TAG
from tests.integration.mlflow.server import MlflowServer, Registry, tags_of

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
