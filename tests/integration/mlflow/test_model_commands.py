"""`llmops model` against a real MLflow tracking server: register versions with what serving
needs, alias, resolve, and the history of a release the operator recorded."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import kopf
from typer.testing import CliRunner

from llmops.app import app
from llmops_contracts.errors import LlmopsError
from llmops_infra.charts.mlflow_server import START_TIMEOUT_S, healthy
from llmops_operator.core.registry.resolution import ModelResolution
from llmops_operator.core.spec.schema import ModelDeploymentSpec
from llmops_operator.core.state.phases import Phase
from llmops_operator.core.state.status import RolloutStatus
from llmops_operator.handlers.resolve_model import record_release, resolve_model
from tests.integration.mlflow.server import MlflowServer, Registry, free_port, tags_of
from tests.integration.mlflow.test_operator_registry import SETTINGS, _spec, _walk_to_succeeded
from tests.unit.operator.sim import T0, World, deployed

runner = CliRunner()


def llmops(server: MlflowServer, *args: str) -> str:
    done = runner.invoke(app, ["model", *args, "--tracking-uri", server.url])
    assert done.exit_code == 0, done.output
    return done.output


def two_versions(server: MlflowServer) -> str:
    """A model with versions 1 (``production``) and 2, registered through the CLI."""
    name = f"gemma-{uuid.uuid4().hex[:8]}"
    llmops(server, "register", name, "--source", "pvc://models/gemma-v1")
    llmops(server, "register", name, "--source", "pvc://models/gemma-v2")
    llmops(server, "alias", name, "production", "1")
    return name


def version_2_in_a_canary(
    server: MlflowServer, name: str
) -> tuple[World, ModelDeploymentSpec, ModelResolution | None]:
    """Production (version 1) serving, then version 2 resolved as the canary's spec."""
    stable_spec, _ = resolve_model(
        SETTINGS, _spec(server.url, name, alias="production"), RolloutStatus(), None,
        generation=1, now=T0,
    )  # fmt: skip
    world = deployed(stable_spec)
    spec, resolution = resolve_model(
        SETTINGS, _spec(server.url, name, version="2"), world.status, None,
        generation=2, now=world.now,
    )  # fmt: skip
    world.spec = spec
    return world, spec, resolution


def test_registered_versions_carry_what_serving_needs_and_the_operator_serves_them(
    mlflow_server: MlflowServer, registry: Registry
) -> None:
    name = f"gemma-{uuid.uuid4().hex[:8]}"
    digest = "sha256:" + "ab" * 32

    out1 = llmops(mlflow_server, "register", name, "--source", "pvc://models/gemma-v1")
    out2 = llmops(
        mlflow_server, "register", name, "--source", "s3://models/gemma-v2", "--digest", digest,
        "--engine-arg", "--max-num-seqs=4", "--engine-arg", "--enable-prefix-caching",
        "--context-length", "2048", "--tokenizer", "google/gemma-3-270m", "--gpus", "1",
        "--prompt-template", "rag-answer=3", "--description", "fewer sequences",
    )  # fmt: skip
    llmops(mlflow_server, "alias", name, "production", "1")
    llmops(mlflow_server, "alias", name, "champion", "2")

    assert f"registered {name} version 1" in out1
    assert f"registered {name} version 2" in out2
    tags = tags_of(registry.version(name, "2"))
    assert tags["llmops.model.uri"] == "s3://models/gemma-v2"
    assert tags["llmops.model.digest"] == digest
    assert tags["llmops.prompt.rag-answer"] == "3"
    assert tags["llmops.serving.tokenizer"] == "google/gemma-3-270m"
    shown = llmops(mlflow_server, "show", f"{name}@champion")
    assert f"{name} version 2" in shown and "llmops.engine.maxModelLen = 2048" in shown
    assert f"{name} version 1" in llmops(mlflow_server, "show", f"models:/{name}/1")
    listed = llmops(mlflow_server, "list")
    assert name in listed and "champion -> 2" in listed and "production -> 1" in listed
    # the operator resolves what the CLI wrote: URI and engine settings from the tags
    spec, resolution = resolve_model(
        SETTINGS, _spec(mlflow_server.url, name, alias="champion"), RolloutStatus(), None,
        generation=1, now=T0,
    )  # fmt: skip
    assert resolution is not None and resolution.version == "2"
    assert spec.model.uri == "s3://models/gemma-v2"
    assert spec.engine.max_model_len == 2048
    assert list(spec.engine.extra_args) == ["--max-num-seqs=4", "--enable-prefix-caching"]


def test_history_shows_the_release_the_operator_recorded(
    mlflow_server: MlflowServer, registry: Registry
) -> None:
    name = two_versions(mlflow_server)
    assert "no promotion or rollback recorded" in llmops(mlflow_server, "history", name)
    world, spec, resolution = version_2_in_a_canary(mlflow_server, name)
    before, patch = _walk_to_succeeded(world)
    assert world.last is not None
    record_release(
        SETTINGS, spec=spec, resolution=resolution, before=before, decision=world.last,
        deployment="ns/chat", now=world.now, patch=patch,
    )  # fmt: skip

    out = llmops(mlflow_server, "history", name)

    assert "version 2 released as production" in out and "ns/chat" in out
    assert "2 measurements" in out  # the analysis verdict the operator recorded
    assert registry.alias(name, "production") == "2"


def test_history_shows_a_rollback_the_operator_recorded_and_production_stays(
    mlflow_server: MlflowServer, registry: Registry
) -> None:
    name = two_versions(mlflow_server)
    world, spec, resolution = version_2_in_a_canary(mlflow_server, name)
    world.metric_value = 99.0  # every analysis measurement out of bounds
    for _ in range(60):
        world.make_ready()
        world.tick(11)
        if world.status.phase is Phase.ROLLED_BACK:
            break
    assert world.status.phase is Phase.ROLLED_BACK, world.status.message
    assert world.last is not None
    patch = kopf.Patch()
    record_release(
        SETTINGS, spec=spec, resolution=resolution, before=world.status, decision=world.last,
        deployment="ns/chat", now=world.now, patch=patch,
    )  # fmt: skip

    out = llmops(mlflow_server, "history", name)

    assert "version 2 rolled back" in out and "why:" in out, out
    assert tags_of(registry.version(name, "2"))["llmops.rollback.modeldeployment"] == "ns/chat"
    assert patch.status["modelResolution"]["rollback"]["recordedAt"]
    assert registry.alias(name, "production") == "1"
    assert [e.reason for e in world.last.events][-1] == "RollbackRecorded"


def test_a_missing_version_and_a_bad_reference_are_named(mlflow_server: MlflowServer) -> None:
    url = ["--tracking-uri", mlflow_server.url]
    missing = runner.invoke(app, ["model", "show", "nobody/7", *url])
    bad = runner.invoke(app, ["model", "show", "no version", *url])

    assert isinstance(missing.exception, LlmopsError)
    assert "nobody/7: no such model version" in missing.exception.one_line()
    assert isinstance(bad.exception, LlmopsError)
    assert "NAME@ALIAS" in bad.exception.one_line()


def test_the_local_registry_serves_until_it_is_stopped(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmops", "model", "server", "--port", str(port),
         "--store", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not healthy(url):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the local registry never answered"
            time.sleep(1)
        done = runner.invoke(app, ["model", "register", "gemma", "--source", "hf://o/m",
                                   "--tracking-uri", url])  # fmt: skip
        assert done.exit_code == 0, done.output
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

    assert (tmp_path / "mlflow.db").is_file()  # the store it was given
    assert not healthy(url)  # and the server went with it
