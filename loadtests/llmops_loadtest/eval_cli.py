"""``eval rag`` and ``eval fairness``: quality gates over a golden set and a probe set
(``python -m llmops_loadtest eval ...``, mounted by the ``llmops`` CLI as ``llmops eval ...``);
``eval gate``: both as a rollout's ``evaluation`` step runs them (`eval_gate`).

Exit codes as for the load test: 0 the thresholds are met, 1 one is not (named), 2 the
evaluation could not happen (unreadable golden set or thresholds, unreachable target).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from llmops_contracts.evaluation import ThresholdCheck
from llmops_contracts.release import EVALUATIONS_KEY
from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.eval_gate import load_plan, run_gate
from llmops_loadtest.fairness_eval import (
    load_fairness_thresholds,
    load_probes,
    run_fairness_eval,
    write_fairness_report,
)
from llmops_loadtest.k8s.verdict import publish_verdict
from llmops_loadtest.mlflow_log import log_evaluation, parse_model_ref
from llmops_loadtest.rag_eval import (
    Judge,
    load_golden_set,
    load_judge_prompt,
    load_thresholds,
    run_rag_eval,
    write_report,
)

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
    judge_url: Annotated[
        str,
        typer.Option(
            help="An OpenAI-compatible server (base URL ending in /v1) whose model also "
            "scores each answer's faithfulness to its passages and its correctness."
        ),
    ] = "",
    judge_model: Annotated[str, typer.Option(help="The judge's model name.")] = "",
    judge_api: Annotated[
        str,
        typer.Option(
            help="`chat` (/chat/completions) or `completion` (/completions: for a model "
            "without a chat template)."
        ),
    ] = "chat",
    judge_prompt: Annotated[
        Path | None,
        typer.Option(
            help="The judge's prompt (its version is the file's name); default: the "
            "built-in rag-judge-v1."
        ),
    ] = None,
) -> None:
    """Ask every golden question; score retrieval (hit rate, recall@k, MRR) and answers
    (token F1, and with --judge-url an LLM judge's faithfulness and correctness)."""
    try:
        golden, sha256 = load_golden_set(dataset)
        gate = load_thresholds(thresholds)
        judge = None
        if judge_url:
            if not judge_model:
                raise LoadtestError("--judge-model", "is missing", "name the judge's model")
            if judge_api not in ("chat", "completion"):
                raise LoadtestError("--judge-api", f"{judge_api!r}", "use chat or completion")
            judge = Judge(judge_url, judge_model, api=judge_api)
            if judge_prompt is not None:
                text, version = load_judge_prompt(judge_prompt)
                judge = Judge(judge_url, judge_model, template=text, version=version, api=judge_api)
        elif gate.faithfulness_min is not None or gate.correctness_min is not None:
            raise LoadtestError(
                f"thresholds {thresholds}",
                "bound faithfulness or correctness, which only a judge scores",
                "give --judge-url and --judge-model, or drop those bounds",
            )
        report = run_rag_eval(
            target,
            golden,
            sha256,
            model=model,
            top_k=top_k,
            seed=seed,
            max_tokens=max_tokens,
            thresholds=gate,
            judge=judge,
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
    if report.judge is not None:
        scores = (
            f"faithfulness {m.faithfulness:.2f}, correctness {m.correctness:.2f}"
            if m.faithfulness is not None and m.correctness is not None
            else "no scores"
        )
        _out.print(
            f"judge {report.judge.model} ({report.judge.prompt_version}, "
            f"sha256 {report.judge.prompt_sha256[:12]}): {m.judged}/{m.items} answers judged, "
            f"{scores}",
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


@app.command()
def gate(  # noqa: PLR0917 -- one parameter per Typer option
    target: Annotated[str, typer.Option("--target", "-t", help="Gateway base URL.")],
    profile: Annotated[Path, typer.Option("--profile", "-p", help="Evaluation plan YAML.")],
    thresholds: Annotated[Path, typer.Option("--gate", "-g", help="Thresholds YAML.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder.")] = Path("evaluation"),
    verdict_configmap: Annotated[
        str | None,
        typer.Option(help="In a cluster: also write the verdict to this ConfigMap (see k8s.job)."),
    ] = None,
    mlflow_uri: Annotated[
        str | None, typer.Option("--mlflow-uri", help="MLflow server: log the run there.")
    ] = None,
    mlflow_model: Annotated[
        str | None, typer.Option("--mlflow-model", help="Model version evaluated, NAME/VERSION.")
    ] = None,
) -> None:
    """A rollout's evaluation step: the plan's RAG and/or fairness evaluations, one verdict
    (exit 0 passed, 1 failed, 2 could not run), the load-test gate's verdict ConfigMap."""
    try:
        if (mlflow_uri is None) != (mlflow_model is None):
            raise LoadtestError("--mlflow-uri/--mlflow-model", "give both or neither")
        model_ref = parse_model_ref(mlflow_model) if mlflow_model else None
        plan, gate_doc = load_plan(profile, thresholds)
        path = run_gate(target, plan, gate_doc, out)
    except LoadtestError as err:
        if verdict_configmap:
            try:
                publish_verdict(verdict_configmap, None, error=err.one_line())
            except LoadtestError as publish_err:
                _err.print(f"[bold red]error[/] {publish_err.one_line()}", highlight=False)
        _fail(err)
    report = json.loads(path.read_text(encoding="utf-8"))
    if verdict_configmap:
        summary = (out / "summary.md").read_text(encoding="utf-8")
        records = {EVALUATIONS_KEY: (out / EVALUATIONS_KEY).read_text(encoding="utf-8")}
        try:
            publish_verdict(verdict_configmap, report, summary=summary, extra=records)
        except LoadtestError as err:
            _fail(err)
    passed = bool(report["verdict"]["passed"])
    _out.print(
        f"[{'bold green' if passed else 'bold red'}]{report['verdict']['headline']}[/]",
        highlight=False,
    )
    _out.print(f"report: {path}", soft_wrap=True)
    if mlflow_uri is not None and model_ref is not None:
        try:
            logged = log_evaluation(out, mlflow_uri, model_ref)
        except LoadtestError as err:
            _fail(err)
        _out.print(f"MLflow run: {logged.url}", soft_wrap=True)
    raise typer.Exit(0 if passed else 1)


def _verdict(checks: Sequence[ThresholdCheck], *, passed: bool, path: Path) -> NoReturn:
    """Each threshold check, the verdict and the report's path; exit 0 passed, 1 failed."""
    for check in checks:
        mark = "[green]ok[/]" if check.passed else "[red]FAILED[/]"
        _out.print(f"  {mark} {check.metric} {check.value:.3f} (bound {check.bound})")
    style = "bold green" if passed else "bold red"
    _out.print(f"[{style}]{'passed' if passed else 'failed'}[/]  report: {path}")
    raise typer.Exit(0 if passed else 1)
