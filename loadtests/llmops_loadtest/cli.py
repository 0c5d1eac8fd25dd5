"""The load-test package's own command: ``llmops-loadtest run|compare`` (also
``python -m llmops_loadtest``), the same commands as ``llmops loadtest run|compare``, which
mounts this app; `loadgen` is ``llmops bench loadgen``.

The operator's gates and the in-cluster load-test Jobs run this command, not the ``llmops``
CLI: the operator image carries this package, not the CLI and its local-cluster tooling.

Exit codes: 0 the gate passed, 1 it failed (the failing SLOs are named), 2 the run could not
happen (unreachable target, bad profile or gate, Locust did not start), always with one
readable line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from llmops_loadtest import eval_cli
from llmops_loadtest.bench import run_loadgen_bench
from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.k8s.verdict import publish_verdict
from llmops_loadtest.mlflow_log import ModelVersionRef, log_report, parse_model_ref
from llmops_loadtest.run import Outcome, run_loadtest
from llmops_loadtest.runner import Progress as RunProgress

app = typer.Typer(
    help="Put realistic LLM traffic on a target, judge it against SLOs, write the report.",
    no_args_is_help=True,
)

app.add_typer(eval_cli.app, name="eval")

_out = Console()
_err = Console(stderr=True, soft_wrap=True)

ProfileOpt = Annotated[
    Path, typer.Option("--profile", "-p", help="Profile YAML (traffic, load shape, windows).")
]
GateOpt = Annotated[Path, typer.Option("--gate", "-g", help="Gate YAML (the SLOs).")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Report folder.")]
WorkersOpt = Annotated[
    int, typer.Option("--workers", "-w", help="Locust worker processes (>1: master + workers).")
]
MlflowUriOpt = Annotated[
    str | None,
    typer.Option(
        "--mlflow-uri", help="MLflow tracking server: log the run there (with --mlflow-model)."
    ),
]
MlflowModelOpt = Annotated[
    str | None,
    typer.Option("--mlflow-model", help="Registered model version under test, NAME/VERSION."),
]


def _mlflow_target(uri: str | None, model: str | None) -> tuple[str, ModelVersionRef] | None:
    """Checked before any load is generated: a typo must not cost a whole run."""
    if uri is None and model is None:
        return None
    if uri is None or model is None:
        _fail(LoadtestError("--mlflow-uri/--mlflow-model", "give both or neither"))
    try:
        return uri, parse_model_ref(model)
    except LoadtestError as err:
        _fail(err)


@contextmanager
def _live_progress() -> Iterator[Callable[[RunProgress], None]]:
    columns = (
        TextColumn("[bold]load test"),
        BarColumn(),
        TextColumn("{task.fields[line]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=_err, transient=True) as progress:
        task = progress.add_task("run", total=1.0, line="starting Locust")

        def update(snapshot: RunProgress) -> None:
            ttft = f"{snapshot.ttft_p95_s * 1000:.0f} ms" if snapshot.ttft_p95_s else "-"
            line = (
                f"{snapshot.elapsed_s:4.0f}/{snapshot.duration_s:.0f} s  "
                f"requests {snapshot.requests}  failed {snapshot.failures}  "
                f"output tokens {snapshot.output_tokens}  TTFT p95 {ttft}"
            )
            progress.update(
                task, total=snapshot.duration_s, completed=snapshot.elapsed_s, line=line
            )

        yield update


def _fail(err: LoadtestError) -> NoReturn:
    _err.print(f"[bold red]error[/] {err.one_line()}", highlight=False)
    raise typer.Exit(2)


def _finish(
    run: Callable[[Callable[[RunProgress], None]], Outcome],
    verdict_configmap: str | None = None,
    mlflow: tuple[str, ModelVersionRef] | None = None,
) -> None:
    try:
        with _live_progress() as update:
            outcome = run(update)
    except LoadtestError as err:
        if verdict_configmap:
            try:
                publish_verdict(verdict_configmap, None, error=err.one_line())
            except LoadtestError as publish_err:
                _err.print(f"[bold red]error[/] {publish_err.one_line()}", highlight=False)
        _fail(err)
    if verdict_configmap:
        summary = outcome.out_dir / "summary.md"
        try:
            publish_verdict(
                verdict_configmap,
                outcome.report,
                summary=summary.read_text() if summary.is_file() else "",
            )
        except LoadtestError as err:
            _fail(err)
    style = "bold green" if outcome.passed else "bold red"
    _out.print(f"[{style}]{outcome.headline}[/]", highlight=False)
    _out.print(f"report: {outcome.out_dir / 'report.html'}", soft_wrap=True)
    if mlflow is not None:
        try:
            logged = log_report(outcome.out_dir, mlflow[0], mlflow[1])
        except LoadtestError as err:
            _fail(err)
        _out.print(f"MLflow run: {logged.url}", soft_wrap=True)
    raise typer.Exit(0 if outcome.passed else 1)


@app.command()
def run(  # noqa: PLR0917 -- one parameter per Typer option
    target: Annotated[str, typer.Option("--target", "-t", help="Base URL, e.g. http://h:8000")],
    profile: ProfileOpt,
    gate: GateOpt,
    out: OutOpt = Path("loadtest-report"),
    workers: WorkersOpt = 1,
    verdict_configmap: Annotated[
        str | None,
        typer.Option(help="In a cluster: also write the verdict to this ConfigMap (see k8s.job)."),
    ] = None,
    mlflow_uri: MlflowUriOpt = None,
    mlflow_model: MlflowModelOpt = None,
) -> None:
    """Run a profile against one target and judge it: exit 0 pass, 1 fail, 2 could not run."""
    mlflow = _mlflow_target(mlflow_uri, mlflow_model)
    _finish(
        lambda update: run_loadtest(
            [("target", target)], profile, gate, out, workers=workers, on_progress=update
        ),
        verdict_configmap,
        mlflow,
    )


@app.command()
def compare(  # noqa: PLR0917 -- one parameter per Typer option
    baseline: Annotated[str, typer.Option("--baseline", help="Base URL of the current version.")],
    candidate: Annotated[str, typer.Option("--candidate", help="Base URL of the new version.")],
    profile: ProfileOpt,
    gate: GateOpt,
    out: OutOpt = Path("loadtest-compare"),
    workers: WorkersOpt = 1,
    mlflow_uri: MlflowUriOpt = None,
    mlflow_model: MlflowModelOpt = None,
) -> None:
    """Baseline and candidate interleaved request by request; the gate judges the ratios."""
    mlflow = _mlflow_target(mlflow_uri, mlflow_model)
    targets: Sequence[tuple[str, str]] = [("baseline", baseline), ("candidate", candidate)]
    _finish(
        lambda update: run_loadtest(
            targets, profile, gate, out, workers=workers, on_progress=update
        ),
        mlflow=mlflow,
    )


_BENCH_LABELS = {
    "target completion e2e": "streaming CompletionStreamUser",
    "plain completion": "plain FastHttpUser",
}


def loadgen(
    seconds: Annotated[float, typer.Option(help="Length of each measurement.")] = 10.0,
    users: Annotated[int, typer.Option(help="Concurrent users on the one worker core.")] = 32,
    tokens: Annotated[int, typer.Option(help="Streamed tokens per response.")] = 16,
) -> None:
    """Requests/s one worker core sustains: streaming user vs Locust's plain FastHttpUser."""
    try:
        with _err.status("benchmarking the load generator against a local scripted upstream"):
            result = run_loadgen_bench(seconds=seconds, users=users, tokens=tokens)
    except LoadtestError as err:
        _fail(err)
    table = Table(title=f"load generator, 1 worker core, {users} users, {tokens} tokens/response")
    for column in ("user", "requests/s", "tokens/s", "loadgen CPU", "upstream CPU", "failures"):
        table.add_column(column, justify="right" if column != "user" else "left", no_wrap=True)
    for row in result.rows:
        table.add_row(
            _BENCH_LABELS.get(row.user, row.user),
            f"{row.requests_per_s:.0f}",
            f"{row.requests_per_s * tokens:.0f}",
            f"{row.loadgen_cpu_ratio * 100:.0f} %",
            f"{row.upstream_cpu_ratio * 100:.0f} %",
            str(row.failures),
        )
    _out.print(table)
    _out.print(f"streaming / plain = {result.ratio:.2f}")


def main() -> None:
    """``llmops-loadtest``."""
    app(prog_name="llmops-loadtest")
