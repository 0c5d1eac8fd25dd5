"""The operator's MLflow link against a real tracking server: pin, roll out, release."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import kopf
import pytest

from llmops_operator.clients.mlflow import (
    MlflowRegistry,
    RegistryRejectedError,
    RegistryUnavailableError,
)
from llmops_operator.core.registry.resolution import NOTE_BEGIN, ModelResolution
from llmops_operator.core.spec.schema import ModelDeploymentSpec, SpecError
from llmops_operator.core.state.phases import Phase
from llmops_operator.core.state.status import RolloutStatus
from llmops_operator.handlers.resolve_model import (
    STATUS_KEY,
    record_release,
    resolve_model,
    wait_for_registry,
)
from llmops_operator.settings import OperatorSettings
from tests.integration.mlflow.server import MlflowServer, Registry, free_port, tags_of
from tests.unit.operator.sim import T0, World, deployed, make_spec

SETTINGS = OperatorSettings(mlflow_timeout_s=10.0, mlflow_retry_s=30.0, serve_metrics=False)


def _spec(url: str, name: str, **ref: str) -> ModelDeploymentSpec:
    return make_spec(model={"name": "gemma", "mlflow": {"name": name, "trackingUri": url, **ref}})


def _two_versions(registry: Registry) -> str:
    """v1 in production; v2, tagged with its engine needs, is the candidate ``champion``."""
    name = f"gemma-{uuid.uuid4().hex[:8]}"
    v1 = registry.register(name, "s3://models/gemma-3-270m-v1", {})
    v2 = registry.register(
        name,
        "gs://bucket/gemma-v2",  # not a scheme the engine loads: the tag says where
        {"llmops.model.uri": "pvc://models/gemma-v2", "llmops.engine.maxModelLen": "2048"},
    )
    registry.set_alias(name, "production", v1)
    registry.set_alias(name, "champion", v2)
    return name


def test_an_alias_resolves_once_to_the_version_its_uri_and_engine_tags(
    mlflow_server: MlflowServer, registry: Registry
) -> None:
    name = _two_versions(registry)
    spec = _spec(mlflow_server.url, name, alias="champion")
    status = RolloutStatus()
    effective, resolution = resolve_model(SETTINGS, spec, status, None, generation=1, now=T0)
    assert resolution is not None and resolution.version == "2"
    assert effective.model.uri == "pvc://models/gemma-v2"
    assert effective.engine.max_model_len == 2048
    assert status.resolved_uri == "pvc://models/gemma-v2"
    # the alias moves in MLflow: the pinned resolution in .status still answers, unasked
    registry.set_alias(name, "champion", "1")
    stored = {STATUS_KEY: resolution.to_raw()}
    again, same = resolve_model(SETTINGS, spec, RolloutStatus(), stored, generation=2, now=T0)
    assert same == resolution and again.model.uri == "pvc://models/gemma-v2"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ({"alias": "nope"}, "alias nope not found"),
        ({"version": "99"}, r"version=99\) not found"),
    ],
)
def test_an_unknown_alias_or_version_is_a_spec_error_naming_it(
    mlflow_server: MlflowServer, registry: Registry, ref: dict[str, str], message: str
) -> None:
    spec = _spec(mlflow_server.url, _two_versions(registry), **ref)
    with pytest.raises(SpecError, match=message):
        resolve_model(SETTINGS, spec, RolloutStatus(), None, generation=1, now=T0)


def test_an_unknown_model_is_rejected_not_retried(mlflow_server: MlflowServer) -> None:
    with pytest.raises(RegistryRejectedError, match="not found"):
        MlflowRegistry(mlflow_server.url, 10).version_by_alias("no-such-model", "production")


def test_an_unknown_alias_is_asked_about_once_per_generation(
    mlflow_server: MlflowServer, registry: Registry
) -> None:
    name = _two_versions(registry)
    spec = _spec(mlflow_server.url, name, alias="canary")
    status = RolloutStatus()
    with pytest.raises(SpecError, match="alias canary not found"):
        resolve_model(SETTINGS, spec, status, None, generation=3, now=T0)
    # someone creates the alias: the same generation keeps its answer (no MLflow call) ...
    registry.set_alias(name, "canary", "2")
    with pytest.raises(SpecError, match="alias canary not found"):
        resolve_model(SETTINGS, spec, status, None, generation=3, now=T0)
    # ... and the next generation (any spec edit) asks again
    _, resolution = resolve_model(SETTINGS, spec, status, None, generation=4, now=T0)
    assert resolution is not None and resolution.version == "2"


def test_an_unreachable_registry_leaves_a_condition_and_asks_for_a_retry() -> None:
    spec = _spec(f"http://127.0.0.1:{free_port()}", "gemma", alias="champion")
    status = RolloutStatus()
    with pytest.raises(RegistryUnavailableError) as caught:
        resolve_model(SETTINGS, spec, status, None, generation=1, now=T0)
    patch = kopf.Patch()
    with pytest.raises(kopf.TemporaryError) as retry:
        wait_for_registry(
            caught.value, settings=SETTINGS, status=status, generation=1, now=T0, patch=patch
        )
    assert retry.value.delay == 30.0
    condition = _condition(patch, "ModelResolved")
    assert condition["status"] == "False" and condition["reason"] == "RegistryUnreachable"
    assert "unreachable" in condition["message"]


def test_a_successful_canary_moves_production_and_records_the_release(
    mlflow_server: MlflowServer, registry: Registry
) -> None:
    name = _two_versions(registry)
    # the stable revision: whatever production pins (v1)
    stable_spec, _ = resolve_model(
        SETTINGS, _spec(mlflow_server.url, name, alias="production"), RolloutStatus(), None,
        generation=1, now=T0,
    )  # fmt: skip
    world = deployed(stable_spec)
    # the spec now asks for champion (v2): resolved once, then a canary walks its steps
    spec, resolution = resolve_model(
        SETTINGS, _spec(mlflow_server.url, name, alias="champion"), world.status, None,
        generation=2, now=world.now,
    )  # fmt: skip
    world.spec = spec
    before, patch = _walk_to_succeeded(world)
    assert world.last is not None
    record_release(
        SETTINGS, spec=spec, resolution=resolution, before=before, decision=world.last,
        deployment="ns/gemma", now=world.now, patch=patch,
    )  # fmt: skip
    assert registry.alias(name, "production") == "2"
    tags = tags_of(registry.version(name, "2"))
    assert tags["llmops.release.alias"] == "production"
    assert tags["llmops.release.modeldeployment"] == "ns/gemma"
    assert tags["llmops.release.analysis"].startswith("2 measurements: 2 Successful")
    assert "Released" in str(registry.version(name, "2")["description"])
    recorded = patch.status[STATUS_KEY]["release"]
    assert recorded["recordedAt"] and recorded["version"] == "2"
    assert [e.reason for e in world.last.events][-1] == "ReleaseRecorded"
    assert _condition(patch, "ReleaseRecorded")["status"] == "True"
    # the next tick finds it recorded: nothing is sent again
    done = ModelResolution.from_raw(patch.status[STATUS_KEY])
    world.tick(1)
    assert world.last is not None
    record_release(
        SETTINGS, spec=spec, resolution=done, before=world.status, decision=world.last,
        deployment="ns/gemma", now=world.now + timedelta(seconds=1), patch=kopf.Patch(),
    )  # fmt: skip
    assert all(e.reason != "ReleaseRecorded" for e in world.last.events)
    assert tags_of(registry.version(name, "2"))["llmops.release.at"] == tags["llmops.release.at"]


def _walk_to_succeeded(world: World) -> tuple[RolloutStatus, kopf.Patch]:
    """Ticks (everything Ready, metrics in bounds) until Succeeded; the status the last tick
    started from, and a patch holding what the shell would have written."""
    for _ in range(60):
        before = world.status
        world.make_ready()
        world.tick(11)
        if world.status.phase is Phase.SUCCEEDED:
            patch = kopf.Patch()
            patch.status.update(world.status.to_raw())
            return before, patch
    raise AssertionError(f"never succeeded: {world.status.phase} {world.status.message}")


def _condition(patch: kopf.Patch, kind: str) -> dict[str, Any]:
    found = [c for c in patch.status["conditions"] if c["type"] == kind]
    assert found, patch.status["conditions"]
    condition: dict[str, Any] = found[0]
    return condition


def test_a_release_whose_status_write_was_lost_to_a_kill_is_recorded_again_once(
    mlflow_server: MlflowServer, registry: Registry
) -> None:
    """The operator killed after the release reached MLflow but before the tick's status
    write: the repeated tick records it again, and MLflow holds one release, not two."""
    name = _two_versions(registry)
    stable_spec, _ = resolve_model(
        SETTINGS, _spec(mlflow_server.url, name, alias="production"), RolloutStatus(), None,
        generation=1, now=T0,
    )  # fmt: skip
    world = deployed(stable_spec)
    spec, resolution = resolve_model(
        SETTINGS, _spec(mlflow_server.url, name, alias="champion"), world.status, None,
        generation=2, now=world.now,
    )  # fmt: skip
    world.spec = spec
    before, _lost = _walk_to_succeeded(world)  # the patch never reaches the API server
    assert world.last is not None
    seen = []
    for at in (world.now, world.now + timedelta(seconds=3)):  # the tick, then its repeat
        patch = kopf.Patch()
        record_release(
            SETTINGS, spec=spec, resolution=resolution, before=before, decision=world.last,
            deployment="ns/gemma", now=at, patch=patch,
        )  # fmt: skip
        assert patch.status[STATUS_KEY]["release"]["recordedAt"]
        version = registry.version(name, "2")
        seen.append((tags_of(version), str(version["description"])))
    assert registry.alias(name, "production") == "2"
    (first_tags, _), (tags, description) = seen
    assert description.count(NOTE_BEGIN) == 1, description  # one release block, not two
    assert tags["llmops.release.modeldeployment"] == "ns/gemma"
    assert tags.keys() == first_tags.keys()  # the same release, stamped again
    assert {k: v for k, v in tags.items() if k != "llmops.release.at"} == {
        k: v for k, v in first_tags.items() if k != "llmops.release.at"
    }
