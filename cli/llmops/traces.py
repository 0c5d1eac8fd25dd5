"""`llmops traces`: the local trace store (an OpenTelemetry Collector and Jaeger)."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from llmops_infra import traces
from llmops_infra.settings import LocalSettings, base_env

app = typer.Typer(
    help="Build, start and stop the local trace store: an OpenTelemetry Collector and Jaeger.",
    no_args_is_help=True,
)
_out = Console()
_err = Console(stderr=True)


def _binaries(settings: LocalSettings) -> traces.TraceBinaries:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err,
        transient=True,
    ) as bar:
        task = bar.add_task("checking binaries", total=None)

        def on_build(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        return traces.ensure_trace_binaries(settings, base_env(), on_build)


@app.command()
def build() -> None:
    """Build (once) the collector and Jaeger from the pinned Go modules in infra/otel/."""
    binaries = _binaries(LocalSettings())
    for name, facts in binaries.report().items():
        _out.print(
            f"{name:<8} {binaries.path(name)}  "
            f"({facts['size_mb']} MB, built in {facts['build_s']} s)",
            soft_wrap=True,
        )


@app.command()
def up(
    timeout: float = typer.Option(30.0, help="Seconds to wait for both to answer."),
) -> None:
    """Start Jaeger and the collector on loopback (building them on first use); idempotent."""
    settings = LocalSettings()
    binaries = _binaries(settings)
    started = time.monotonic()
    ports = traces.trace_ports(settings)
    handle = traces.start_traces(
        binaries.bin_dir, traces.config_dir(settings), traces.run_dir(settings), ports
    )
    traces.wait_traces_ready(handle, timeout=timeout)
    _out.print(f"traces ready after {time.monotonic() - started:.1f} s")
    _out.print(
        f"  send spans: OTLP/HTTP {ports.otlp_http_traces_url}, OTLP/gRPC {ports.otlp_grpc_url}"
    )
    _out.print(
        f"  read them:  {ports.query_url} (UI), {ports.query_url}/api/traces/<trace id>",
        soft_wrap=True,
    )


@app.command()
def down() -> None:
    """Stop the collector and Jaeger (the traces, kept in memory, go with them)."""
    stopped = traces.stop_traces(traces.run_dir(LocalSettings()))
    _out.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command()
def status() -> None:
    """Show whether each is stopped, starting or ready, and where it listens."""
    settings = LocalSettings()
    for item in traces.traces_status(traces.run_dir(settings), traces.trace_ports(settings)):
        pid = f"pid {item.pid}" if item.pid is not None else "no pid"
        _out.print(
            f"{item.name:<8} {item.state:<9} 127.0.0.1:{item.port}  ({pid}, log {item.log})",
            soft_wrap=True,
        )
