"""`llmops model`: the MLflow model registry as a platform team uses it (I/O shell around
`llmops.registry`, through the project's MLflow REST client)."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from llmops.registry import (
    ServingNeeds,
    VersionRef,
    build_version_tags,
    parse_prompt_templates,
    parse_ref,
    releases_of,
    tags_of,
)
from llmops_contracts.errors import LlmopsError
from llmops_infra.charts import mlflow_server
from llmops_infra.settings import LocalSettings, base_env
from llmops_loadtest.mlflow_rest import MlflowClient, MlflowError

app = typer.Typer(
    help="The MLflow model registry: register versions with what serving needs, aliases, and "
    "the releases the operator recorded.",
    no_args_is_help=True,
)
_console = Console(soft_wrap=True, highlight=False)
LOCAL_REGISTRY = "http://127.0.0.1:5000"  # `llmops model server`'s address
_TRACKING = typer.Option(
    "--tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    help="MLflow tracking server (default: the local one `llmops model server` runs).",
)


def _client(tracking_uri: str) -> MlflowClient:
    return MlflowClient(
        tracking_uri, 30, unreachable_fix="start one with `llmops model server`, or pass "
        "--tracking-uri / MLFLOW_TRACKING_URI",
    )  # fmt: skip


def _version(client: MlflowClient, ref: VersionRef) -> dict[str, Any]:
    try:
        if ref.alias:
            found = client.call("GET", "/registered-models/alias",
                                params={"name": ref.name, "alias": ref.alias})  # fmt: skip
        else:
            found = client.call("GET", "/model-versions/get",
                                params={"name": ref.name, "version": ref.version})  # fmt: skip
    except MlflowError as err:
        if err.status == 404:
            raise LlmopsError("llmops model", f"{ref}: no such model version in the registry",
                              "llmops model list") from None  # fmt: skip
        raise
    version: dict[str, Any] = found["model_version"]
    return version


@app.command()
def register(  # noqa: PLR0917 -- one option per serving need
    name: Annotated[str, typer.Argument(help="Registered model name (created on first use).")],
    source: Annotated[str, typer.Option(help="Where the weights are: hf://, s3:// or pvc://.")],
    digest: Annotated[str, typer.Option(help="sha256:<hex> of the weights.")] = "",
    engine_arg: Annotated[
        list[str] | None,
        typer.Option("--engine-arg", help="A vLLM flag this version serves with (repeat)."),
    ] = None,
    context_length: Annotated[int | None, typer.Option(help="Context length (tokens).")] = None,
    tokenizer: Annotated[str, typer.Option(help="Tokenizer, if not the model's own.")] = "",
    gpus: Annotated[int | None, typer.Option(help="GPUs one replica needs.")] = None,
    gpu_memory_gib: Annotated[int | None, typer.Option(help="GPU memory per GPU, GiB.")] = None,
    prompt_template: Annotated[
        list[str] | None,
        typer.Option("--prompt-template", help="NAME=VERSION of a prompt template (repeat)."),
    ] = None,
    description: Annotated[str, typer.Option(help="What changed in this version.")] = "",
    tracking_uri: Annotated[str, _TRACKING] = LOCAL_REGISTRY,
) -> None:
    """Register a new version of NAME, tagged with what serving it needs."""
    tags = build_version_tags(
        ServingNeeds(
            source=source, digest=digest, engine_args=tuple(engine_arg or ()),
            context_length=context_length, tokenizer=tokenizer, gpus=gpus,
            gpu_memory_gib=gpu_memory_gib,
            prompt_templates=parse_prompt_templates(prompt_template or ()),
        )
    )  # fmt: skip
    version = _client(tracking_uri).register_version(
        name, source, description=description, tags=tags
    )
    _console.print(f"registered {name} version {version} (models:/{name}/{version}), "
                   f"{len(tags)} tags")  # fmt: skip


@app.command("list")
def list_models(tracking_uri: Annotated[str, _TRACKING] = LOCAL_REGISTRY) -> None:
    """Every registered model: its newest version and its aliases."""
    found = _client(tracking_uri).call(
        "GET", "/registered-models/search", params={"max_results": "1000"}
    )
    table = Table("model", "newest version", "aliases", box=None)
    for model in found.get("registered_models", []):
        newest = max((int(v["version"]) for v in model.get("latest_versions", [])), default=0)
        aliases = ", ".join(
            f"{a['alias']} -> {a['version']}" for a in model.get("aliases", [])
        )  # fmt: skip
        table.add_row(model["name"], str(newest or "-"), aliases or "-")
    _console.print(table)


@app.command()
def show(
    ref: Annotated[str, typer.Argument(help="NAME@ALIAS or NAME/VERSION.")],
    tracking_uri: Annotated[str, _TRACKING] = LOCAL_REGISTRY,
) -> None:
    """One version: its source, its aliases and every tag (serving needs, releases)."""
    version = _version(_client(tracking_uri), parse_ref(ref))
    _console.print(f"{version['name']} version {version['version']}")
    _console.print(f"  source:  {version.get('source', '')}")
    if version.get("aliases"):
        _console.print(f"  aliases: {', '.join(version['aliases'])}")
    if version.get("description"):
        _console.print(f"  description: {version['description'].splitlines()[0]}")
    for key, value in sorted(tags_of(version).items()):
        _console.print(f"  {key} = {value}", markup=False)


@app.command()
def alias(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS", help="e.g. production.")],
    version: Annotated[str, typer.Argument(help="The version the alias names from now on.")],
    tracking_uri: Annotated[str, _TRACKING] = LOCAL_REGISTRY,
) -> None:
    """Point ALIAS of NAME at VERSION; a ModelDeployment naming the alias picks it up when
    its spec changes."""
    client = _client(tracking_uri)
    _version(client, VersionRef(name, version=version))  # a clear error for a missing one
    client.call("POST", "/registered-models/alias",
                json={"name": name, "alias": alias_name, "version": version})  # fmt: skip
    _console.print(f"{name}@{alias_name} -> version {version}")


@app.command()
def history(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    tracking_uri: Annotated[str, _TRACKING] = LOCAL_REGISTRY,
) -> None:
    """Every promotion and rollback the operator recorded against a version of NAME.

    When, which rollout, why, the verdicts and the load-test report."""
    found = _client(tracking_uri).call(
        "GET", "/model-versions/search", params={"filter": f"name='{name}'"}
    )
    releases = releases_of(found.get("model_versions", []))
    if not releases:
        _console.print(f"{name}: no promotion or rollback recorded by the operator yet")
        return
    for r in releases:
        _console.print(f"{r.at}  version {r.version} {r.outcome}  rollout {r.modeldeployment} "
                       f"(revision {r.revision_hash})", markup=False)  # fmt: skip
        if r.reason:
            _console.print(f"  why:       {r.reason}", markup=False)
        _console.print(f"  load test: {r.load_test}", markup=False)
        _console.print(f"  analysis:  {r.analysis}", markup=False)
        _console.print(f"  report:    {r.report}", markup=False)


@app.command()
def server(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 5000,
    store: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the store (sqlite and artifacts); default: ~/.cache/llmops/mlflow."
        ),
    ] = None,
) -> None:
    """Run the local registry: an MLflow tracking server on loopback with a local store, until
    Ctrl-C or SIGTERM."""
    settings = LocalSettings()
    folder = store or settings.cache_dir / "mlflow"
    try:
        running = mlflow_server.start_server(settings, folder, base_env(), port=port)
    except RuntimeError as err:
        log = folder / "mlflow-server.log"
        raise LlmopsError(
            "llmops model server", str(err), f"is port {port} free? read {log}"
        ) from None
    _console.print(f"MLflow tracking server on {running.url} (store: {folder}); Ctrl-C stops it")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops it like Ctrl-C
    try:
        while mlflow_server.healthy(running.url):
            time.sleep(2)
    except KeyboardInterrupt:
        pass
    finally:
        mlflow_server.stop_group(running.pid)
