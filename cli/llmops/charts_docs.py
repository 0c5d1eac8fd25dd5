"""`llmops charts docs`: each chart's README values table, from its values.yaml comments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from llmops_infra.charts import CHARTS_DIR
from llmops_infra.charts import docs as chart_docs

app = typer.Typer(
    help="The llmops Helm charts' own files (READMEs, rules, dashboards).", no_args_is_help=True
)

_out = Console(soft_wrap=True)
_err = Console(stderr=True, soft_wrap=True)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@app.command()
def docs(
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 when a README is not current."),
    ] = False,
    charts_dir: Annotated[
        Path,
        typer.Option("--charts-dir", help="Folder holding the charts.", file_okay=False),
    ] = CHARTS_DIR,
) -> None:
    """Write charts/<chart>/README.md: Chart.yaml facts and the values table (helm-docs style).

    Only the part between `<!-- values:start -->` and `<!-- values:end -->` is generated;
    prose around it is kept. Keys without a `# --` comment are listed as warnings.
    """
    stale: list[tuple[Path, bool]] = []
    for directory in chart_docs.chart_dirs(charts_dir):
        sources = chart_docs.load_chart(directory)
        for row in chart_docs.chart_doc(sources).undocumented:
            _err.print(
                f"[yellow]warning[/] {_shown(directory / 'values.yaml')}:{row.line}: "
                f"{row.key} has no `# --` description",
                highlight=False,
            )
        wanted = chart_docs.render_readme(sources)
        if wanted == sources.readme:
            continue
        stale.append((sources.readme_path, sources.readme is None))
        if not check:
            sources.readme_path.write_text(wanted)
            _out.print(f"wrote {_shown(sources.readme_path)}", highlight=False)
    if check and stale:
        for path, missing in stale:
            state = "missing" if missing else "stale"
            _err.print(
                f"[bold red]{state}[/] {_shown(path)}: run `{chart_docs.FIX_COMMAND}`",
                highlight=False,
            )
        raise typer.Exit(1)
    if not stale:
        _out.print("chart READMEs are current", highlight=False)


@app.command()
def observability(
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 when a generated file is not current."),
    ] = False,
) -> None:
    """Write the llmops-stack chart's Prometheus rules and Grafana dashboards from code.

    Recording rules come from the operator's signal definitions (the analysis queries the
    same PromQL), alerts from llmops_infra.observability.alerts, dashboards from
    llmops_infra.observability.dashboards (needs the dev group: grafana-foundation-sdk).
    """
    from llmops_infra.observability import FIX_COMMAND, generate  # noqa: PLC0415

    stale = generate.stale_files()
    if check:
        for path in stale:
            _err.print(f"[bold red]stale[/] {_shown(path)}: run `{FIX_COMMAND}`", highlight=False)
        if stale:
            raise typer.Exit(1)
    else:
        for path in generate.write_files():
            _out.print(f"wrote {_shown(path)}", highlight=False)
    if not stale:
        _out.print("observability files are current", highlight=False)
