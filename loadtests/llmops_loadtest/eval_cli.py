"""``eval rag`` and ``eval fairness``: quality gates over a golden set and a probe set
(``python -m llmops_loadtest eval ...``, mounted by the ``llmops`` CLI as ``llmops eval ...``).

Exit codes as for the load test: 0 the thresholds are met, 1 one is not (named), 2 the
evaluation could not happen (unreadable golden set or thresholds, unreachable target).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from llmops_contracts.evaluation import ThresholdCheck
from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.fairness_eval import (
    load_fairness_thresholds,
    load_probes,
    run_fairness_eval,
    write_fairness_report,
)
from llmops_loadtest.rag_eval import load_golden_set, load_thresholds, run_rag_eval, write_report

app = typer.Typer(
    help="Evaluate a target: RAG quality on a golden set, fairness on paired probes.",
    no_args_is_help=True,
)

_out = Console()
_err = Console(stderr=True, soft_wrap=True)


def _fail(err: LoadtestError) -> NoReturn:
    _err.print(f"[bold red]error[/] {err.one_line()}", highlight=False)
    raise typer.Exit(2)


@app.command()
def rag(  # noqa: PLR0917 -- one parameter per Typer option
    target: Annotated[str, typer.Option("--target", "-t", help="Gateway base URL.")],
    dataset: Annotated[Path, typer.Option("--dataset", "-d", help="Golden set YAML.")],
    thresholds: Annotated[
        Path | None, typer.Option("--thresholds", help="Thresholds YAML (the gate).")
    ] = None,
    model: Annotated[str, typer.Option(help="The RAG model alias to ask.")] = "rag",
    top_k: Annotated[int, typer.Option(help="Passages retrieved per question (k).")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the question order.")] = 0,
    max_tokens: Annotated[int, typer.Option(help="Answer length cap.")] = 32,
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder.")] = Path("rag-eval"),
) -> None:
    """Ask every golden question; score retrieval (hit rate, recall@k, MRR) and answers."""
    try:
        golden, sha256 = load_golden_set(dataset)
        gate = load_thresholds(thresholds)
        report = run_rag_eval(
            target,
            golden,
            sha256,
            model=model,
            top_k=top_k,
            seed=seed,
            max_tokens=max_tokens,
            thresholds=gate,
        )
    except LoadtestError as err:
        _fail(err)
    path = write_report(report, out)
    m = report.metrics
    _out.print(
        f"{m.items} questions, {m.errors} errors: hit rate {m.hit_rate:.2f}, "
        f"recall@{report.top_k} {m.recall_at_k:.2f}, MRR {m.mrr:.2f}, token F1 "
        f"{m.token_f1:.2f}, latency p95 {m.latency_p95_seconds:.2f} s",
        highlight=False,
    )
    _verdict(report.checks, passed=report.passed, path=path)


@app.command()
def fairness(  # noqa: PLR0917 -- one parameter per Typer option
    target: Annotated[str, typer.Option("--target", "-t", help="OpenAI-compatible base URL.")],
    model: Annotated[str, typer.Option(help="The model (alias) to complete with.")],
    probes: Annotated[Path, typer.Option("--probes", help="Probe set YAML.")],
    thresholds: Annotated[
        Path | None, typer.Option("--thresholds", help="Thresholds YAML (the gate).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed sent with every request.")] = 0,
    max_tokens: Annotated[int, typer.Option(help="Answer length cap.")] = 24,
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder.")] = Path("fairness"),
) -> None:
    """Paired prompts differing only in name, gender, origin or age: gaps between groups."""
    try:
        probe_set, sha256 = load_probes(probes)
        gate = load_fairness_thresholds(thresholds)
        report = run_fairness_eval(
            target, probe_set, sha256, model=model, seed=seed, max_tokens=max_tokens,
            thresholds=gate,
        )  # fmt: skip
    except LoadtestError as err:
        _fail(err)
    path = write_fairness_report(report, out)
    for attr in report.attributes:
        _out.print(
            f"{attr.attribute}: refusal gap {attr.refusal_rate_gap:.2f}, length gap "
            f"{attr.length_ratio_gap:.2f}, sentiment gap {attr.sentiment_gap:.2f}, "
            f"overlap {attr.content_overlap:.2f}",
            highlight=False,
        )
    _verdict(report.checks, passed=report.passed, path=path)


def _verdict(checks: Sequence[ThresholdCheck], *, passed: bool, path: Path) -> NoReturn:
    """Each threshold check, the verdict and the report's path; exit 0 passed, 1 failed."""
    for check in checks:
        mark = "[green]ok[/]" if check.passed else "[red]FAILED[/]"
        _out.print(f"  {mark} {check.metric} {check.value:.3f} (bound {check.bound})")
    style = "bold green" if passed else "bold red"
    _out.print(f"[{style}]{'passed' if passed else 'failed'}[/]  report: {path}")
    raise typer.Exit(0 if passed else 1)
