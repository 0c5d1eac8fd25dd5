"""Entry point of the `llmops` command.

Each command group lives in its own module and is registered here. A user's
mistake or a missing prerequisite surfaces as an `LlmopsError` (the one error base, which
every component's errors subclass), printed as one line on stderr with a non-zero exit
code, never as a traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from llmops import (
    __version__,
    charts,
    charts_docs,
    cluster,
    demo,
    doctor,
    engine,
    gateway,
    guardrails,
    images,
    local,
    model,
    release,
    tools,
    traces,
)
from llmops_contracts.errors import LlmopsError
from llmops_loadtest import cli as loadtest
from llmops_loadtest import eval_cli

app = typer.Typer(
    name="llmops",
    help="Run self-hosted LLMs and RAG on Kubernetes, and ship new model versions safely.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_err = Console(stderr=True, soft_wrap=True)  # one line, however long


def _version(value: bool) -> None:
    if value:
        typer.echo(f"llmops {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Run self-hosted LLMs and RAG on Kubernetes, and ship new model versions safely."""


app.add_typer(charts_docs.app, name="charts")
app.add_typer(cluster.app, name="cluster")
app.add_typer(engine.app, name="engine")
app.add_typer(images.app, name="images")
app.add_typer(local.app, name="local")
app.add_typer(model.app, name="model")
app.add_typer(release.app, name="release")
app.add_typer(tools.app, name="tools")
app.add_typer(traces.app, name="traces")
app.add_typer(gateway.app, name="gateway")
app.add_typer(guardrails.app, name="guardrails")
app.command("ingest")(gateway.ingest)
app.add_typer(loadtest.app, name="loadtest")
app.add_typer(eval_cli.app, name="eval")

# One `bench` group for every component's benchmark: figures, not tests.
bench = typer.Typer(help="Benchmarks (figures, not tests): what our own parts cost.")
bench.command("gateway")(gateway.bench_gateway)
bench.command("loadgen")(loadtest.loadgen)
app.add_typer(bench, name="bench")
app.command("doctor")(doctor.doctor)
app.command("install")(charts.install)
app.command("upgrade")(charts.upgrade)
app.command("uninstall")(charts.uninstall)
app.command("template")(charts.template)
app.add_typer(demo.app, name="demo")


def main() -> None:
    try:
        app()
    except LlmopsError as err:
        _err.print(f"[bold red]error[/] {err.one_line()}", highlight=False)
        sys.exit(2)
