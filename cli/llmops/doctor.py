"""`llmops doctor`: check every prerequisite and say how to fix what is missing."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from llmops_infra.doctor import run_checks
from llmops_infra.settings import LocalSettings, base_env

console = Console()


def doctor() -> None:
    """Check every prerequisite (Go, helm, kubectl, control plane, engine, ports)."""
    results = run_checks(LocalSettings(), base_env())
    table = Table(title="llmops doctor")
    table.add_column("check")
    table.add_column("")
    table.add_column("detail")
    table.add_column("fix")
    for check in results:
        mark = "[green]ok[/]" if check.ok else "[red]missing[/]"
        table.add_row(check.name, mark, check.detail, check.fix)
    console.print(table)
    missing = [c for c in results if not c.ok]
    if missing:
        console.print(f"[red]{len(missing)} problem(s)[/]: run the commands in the fix column.")
        raise typer.Exit(1)
    console.print("[green]everything is in place[/]")
