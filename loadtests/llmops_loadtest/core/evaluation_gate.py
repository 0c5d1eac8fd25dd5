"""The evaluation gate's verdict over its evaluations' checks (pure).

Each evaluation (``rag``, ``fairness``) judges its own thresholds; the gate passes when every
check does. The headline is what a rollout's status and Events show: ``PASS (5/5 thresholds
met)``, or ``FAIL: rag token_f1 0.12 < 0.5; rag mrr 0.00 < 0.6`` naming each check missed.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmops_contracts.evaluation import EvaluationGateReport, EvaluationVerdict, ThresholdCheck


def prefixed(evaluation: str, checks: Sequence[ThresholdCheck]) -> list[ThresholdCheck]:
    """``token_f1`` of the rag evaluation -> ``rag.token_f1`` (a check names its evaluation)."""
    return [c.model_copy(update={"metric": f"{evaluation}.{c.metric}"}) for c in checks]


def describe(check: ThresholdCheck) -> str:
    """``rag token_f1 0.12 < 0.5`` for a missed check (the side it fell on), ``... ok``
    for a met one."""
    name = check.metric.replace(".", " ", 1)
    if check.passed:
        return f"{name} {check.value:.2f} ok (bound {check.bound:g})"
    side = "<" if check.value < check.bound else ">"
    return f"{name} {check.value:.2f} {side} {check.bound:g}"


def judge(checks: Sequence[ThresholdCheck]) -> EvaluationVerdict:
    if not checks:
        # A gate that judges nothing cannot fail: refuse to call that a pass.
        return EvaluationVerdict(passed=False, headline="FAIL: no threshold judged", checks=[])
    missed = [c for c in checks if not c.passed]
    if missed:
        headline = "FAIL: " + "; ".join(describe(c) for c in missed)
    else:
        headline = f"PASS ({len(checks)}/{len(checks)} thresholds met)"
    return EvaluationVerdict(passed=not missed, headline=headline, checks=list(checks))


def summary_markdown(report: EvaluationGateReport) -> str:
    """The Markdown people read in the verdict ConfigMap and as the MLflow run's note."""
    lines = [f"# Evaluation {report.profile.get('name', '')}", "", f"**{report.verdict.headline}**"]
    if report.rag is not None:
        m = report.rag.metrics
        lines += [
            "",
            f"RAG: golden set {report.rag.dataset_version} (sha256 "
            f"{report.rag.dataset_sha256[:12]}), {m.items} questions, seed {report.seed}: "
            f"hit rate {m.hit_rate:.2f}, recall@{report.rag.top_k} {m.recall_at_k:.2f}, "
            f"MRR {m.mrr:.2f}, token F1 {m.token_f1:.2f}, errors {m.errors}, "
            f"latency p95 {m.latency_p95_seconds:.2f} s",
        ]
    if report.fairness is not None:
        lines += [
            "",
            f"Fairness: probe set {report.fairness.dataset_version} (sha256 "
            f"{report.fairness.dataset_sha256[:12]}), seed {report.seed}",
        ]
        lines += [
            f"- {a.attribute}: refusal gap {a.refusal_rate_gap:.2f}, length gap "
            f"{a.length_ratio_gap:.2f}, sentiment gap {a.sentiment_gap:.2f}, overlap "
            f"{a.content_overlap:.2f}"
            for a in report.fairness.attributes
        ]
    lines += ["", "| check | value | bound | |", "|---|---|---|---|"]
    lines += [
        f"| {c.metric} | {c.value:.3f} | {c.bound:g} | {'ok' if c.passed else 'FAILED'} |"
        for c in report.verdict.checks
    ]
    return "\n".join(lines) + "\n"
