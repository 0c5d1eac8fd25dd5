"""`llmops cluster`: the local control plane (or an existing cluster you allow)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from llmops_infra import cluster
from llmops_infra.cluster import lifecycle
from llmops_infra.cluster.build import ensure_binaries
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings, base_env

app = typer.Typer(
    help="Run a real local Kubernetes control plane (kwok fake nodes, no containers).",
    no_args_is_help=True,
)
console = Console()


def _build_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@app.command()
def build() -> None:
    """Build (once) the control-plane binaries from the pinned Go modules into the cache."""
    started = time.monotonic()
    with _build_progress() as bar:
        task = bar.add_task("checking binaries", total=None)

        def on_build(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        binaries = ensure_binaries(LocalSettings(), base_env(), on_build)
    console.print(
        f"control plane binaries in {binaries.bin_dir} ({time.monotonic() - started:.0f}s)"
    )


@app.command()
def up(
    use_existing_cluster: Annotated[
        bool,
        typer.Option(
            "--use-existing-cluster",
            help="Check the cluster KUBECONFIG points at (its context must be in "
            "LLMOPS_ALLOWED_CONTEXTS) instead of starting the local one.",
        ),
    ] = False,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Start from empty etcd data if it is not running.")
    ] = False,
) -> None:
    """Start the local cluster (building the binaries on first use, ~20 min); idempotent."""
    settings = LocalSettings()
    if use_existing_cluster:
        settings = settings.model_copy(update={"use_existing_cluster": True})
        target = cluster.resolve_target(settings)
        console.print(f"using existing cluster: context {target.context} ({target.kubeconfig})")
        return
    started = time.monotonic()
    with _build_progress() as bar:
        task = bar.add_task("checking binaries", total=None)

        def on_build(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        state = cluster.up(
            settings, base_env(), report=console.print, progress=on_build, fresh=fresh
        )
    _print_status(state)
    console.print(f"[green]cluster up[/] in {time.monotonic() - started:.1f}s")
    console.print(f"export KUBECONFIG={state.kubeconfig}")


@app.command()
def down(
    purge: Annotated[
        bool,
        typer.Option("--purge", help="Also delete the cluster's state (etcd data, certificates)."),
    ] = False,
) -> None:
    """Stop every component of the local cluster; nothing keeps running."""
    stopped = cluster.down(LocalSettings(), purge=purge)
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
    if purge:
        console.print("cluster state deleted")


@app.command()
def status() -> None:
    """Show each component, the fake nodes and the API server's version."""
    state = cluster.status(LocalSettings())
    _print_status(state)
    if not state.is_healthy:
        raise typer.Exit(1)


@app.command()
def kubeconfig(
    as_service_account: Annotated[
        str,
        typer.Option(
            "--as-service-account",
            metavar="NAMESPACE/NAME",
            help="Write a kubeconfig that acts as this ServiceAccount (impersonation).",
        ),
    ] = "",
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write the impersonating one.")
    ] = None,
) -> None:
    """Print the path of the admin kubeconfig (or of an impersonating one)."""
    settings = LocalSettings()
    if not as_service_account:
        if not settings.admin_kubeconfig.is_file():
            raise LlmopsError("local cluster", "has no kubeconfig yet", "run `llmops cluster up`")
        typer.echo(str(settings.admin_kubeconfig))
        return
    namespace, _, name = as_service_account.partition("/")
    if not namespace or not name:
        raise LlmopsError(
            "--as-service-account",
            f"{as_service_account!r} is not NAMESPACE/NAME",
            "e.g. --as-service-account default/my-sa",
        )
    path = out or settings.cluster_dir / f"sa-{namespace}-{name}.kubeconfig"
    typer.echo(str(lifecycle.write_impersonating_kubeconfig(settings, namespace, name, path)))


def _print_status(state: cluster.ClusterStatus) -> None:
    table = Table(title=f"local cluster ({state.version or 'API server down'})")
    table.add_column("component")
    table.add_column("pid", justify="right")
    table.add_column("health")
    for comp in state.components:
        health = "[green]healthy[/]" if comp.healthy else f"[red]{comp.detail}[/]"
        table.add_row(comp.name, str(comp.pid or "-"), health)
    for node, ready in sorted(state.nodes.items()):
        table.add_row(f"node {node}", "", "[green]Ready[/]" if ready else "[red]NotReady[/]")
    console.print(table)
