"""`llmops engine`: the local inference engine (vLLM on the CPU) for tests and the local default."""

from __future__ import annotations

import time

import typer
from rich.console import Console

from llmops_infra import engine
from llmops_infra.settings import LocalSettings

app = typer.Typer(
    help="Build, start and stop the local vLLM servers (Gemma 3 270M and MiniLM embeddings).",
    no_args_is_help=True,
)

_out = Console()
_err = Console(stderr=True)


@app.command()
def build(
    force: bool = typer.Option(False, "--force", help="Rebuild the venv and models from scratch."),
) -> None:
    """Build the engine venv (~6 GB) and convert the models; cached, a no-op when up to date."""
    report = engine.build_engine(LocalSettings(), force=force, console=_err)
    if not report.timings:
        _out.print(f"engine already built: {report.layout.venv}")
    else:
        total = sum(seconds for _, seconds in report.timings)
        _out.print(f"engine built in {total:.0f} s: {report.layout.venv}")
    _out.print(f"vLLM's CLI: {report.layout.vllm_command} (e.g. bench serve --help)")


@app.command()
def up(
    timeout: float = typer.Option(600.0, help="Seconds to wait for both servers to be ready."),
    otlp_traces_endpoint: str = typer.Option(
        "",
        help="Start the generate server with vLLM's --otlp-traces-endpoint (OTLP/gRPC, e.g. "
        "the collector of `llmops traces up`: http://127.0.0.1:4317). A server already "
        "running keeps its flags: `llmops engine down` first.",
    ),
) -> None:
    """Start both servers in the background (reusing running ones) and wait until ready."""
    settings = LocalSettings()
    if otlp_traces_endpoint:
        settings = settings.model_copy(update={"engine_otlp_traces_endpoint": otlp_traces_endpoint})
    started = time.monotonic()
    handle = engine.start_engines(settings)
    with _err.status("waiting for the vLLM servers (a cold start takes a few minutes)"):
        engine.wait_ready(handle, timeout=timeout)
    _out.print(f"engine ready after {time.monotonic() - started:.0f} s")
    for server in handle.servers:
        how = "started" if server.started else "already running"
        _out.print(
            f"  {server.spec.served_model_name:<17} {handle.url(server.spec.name)}  "
            f"({how}, log {server.log})",
            soft_wrap=True,
        )


@app.command()
def down() -> None:
    """Stop both servers; nothing of theirs keeps running."""
    stopped = engine.stop_engines(LocalSettings())
    _out.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command()
def status() -> None:
    """Show whether each server is stopped, starting or ready."""
    for item in engine.engine_status(LocalSettings()):
        pid = f"pid {item.pid}" if item.pid is not None else "no pid"
        _out.print(
            f"{item.spec.name:<9} {item.state:<9} {item.spec.base_url}/v1  "
            f"{item.spec.served_model_name}  ({pid}, log {item.log})",
            soft_wrap=True,
        )
