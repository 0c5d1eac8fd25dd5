"""Readable views of a rollout for people (`kubectl llmops status/history`), pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from llmops_operator.core.bluegreen import STEPS as BLUE_GREEN_STEPS
from llmops_operator.core.spec import CanaryStep, ModelDeploymentSpec
from llmops_operator.core.status import RolloutStatus


def describe_step(step: CanaryStep) -> str:
    if step.set_weight is not None:
        return f"setWeight {step.set_weight}%"
    if step.pause is not None:
        return f"pause {step.pause.duration}" if step.pause.duration else "pause (until promoted)"
    if step.analysis is not None:
        return f"analysis every {step.analysis.interval} x{step.analysis.count}"
    assert step.load_test is not None
    return f"loadTest {step.load_test.profile} {step.load_test.users} users"


def step_lines(spec: ModelDeploymentSpec, status: RolloutStatus) -> list[str]:
    """One line per step: done (✔), current (▶) or to come (·)."""
    names = (
        [describe_step(step) for step in spec.strategy.canary.steps]
        if spec.strategy.canary
        else list(BLUE_GREEN_STEPS)
    )
    current = status.current_step_index if status.canary_hash else None
    lines = []
    for index, name in enumerate(names):
        mark = "·" if current is None or index > current else "▶" if index == current else "✔"
        lines.append(f"  {mark} {index}: {name}")
    return lines


def status_text(name: str, spec: ModelDeploymentSpec, status: RolloutStatus) -> str:
    strategy = "canary" if spec.strategy.canary else "blueGreen"
    lines = [
        f"Name:      {name}",
        f"Strategy:  {strategy}",
        f"Phase:     {status.phase.value if status.phase else 'Unknown'}  {status.message}",
        f"Stable:    {status.stable_revision or '-'} ({status.stable_hash or '-'})",
        f"Candidate: {status.canary_revision or '-'} ({status.canary_hash or '-'})"
        f"  weight {status.canary_weight}%",
        "Steps:",
        *step_lines(spec, status),
    ]
    if status.analysis_runs:
        lines.append("Analysis (latest per metric):")
        latest: dict[tuple[int, str], Any] = {}
        for run in status.analysis_runs:
            latest[(run.step, run.metric)] = run
        for (step, metric), run in sorted(latest.items()):
            value = "-" if run.value is None else f"{run.value:.4g}"
            lines.append(f"  step {step} {metric}: {run.result.value} value={value} {run.message}")
    if status.load_test is not None:
        lt = status.load_test
        lines.append(f"Load test: {lt.name} {lt.verdict.value} {lt.report_url} {lt.message}")
    lines.append("Conditions:")
    lines += [f"  {c.type}={c.status} {c.reason}: {c.message}" for c in status.conditions]
    return "\n".join(lines)


def history_text(status: RolloutStatus) -> str:
    rows = ["REVISION  HASH      RESULT      AT                    MESSAGE"]
    for entry in status.history:
        at = entry.at.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(entry.at, datetime) else ""
        rows.append(
            f"{entry.revision:<9} {entry.hash:<9} {entry.result:<11} {at:<21} {entry.message}"
        )
    return "\n".join(rows)


def build_undo_patch(status: RolloutStatus, to_revision: str | None) -> dict[str, Any]:
    """A merge patch of ``spec`` back to a previous revision's template (`undo`).

    Default: the latest promoted revision that is not the current stable one.
    Raises LookupError when there is none.
    """
    candidates = [
        entry
        for entry in reversed(status.history)
        if entry.result == "Promoted" and entry.hash != status.stable_hash
    ]
    if to_revision is not None:
        candidates = [e for e in candidates if to_revision in (e.revision, e.hash)]
    if not candidates:
        raise LookupError("no earlier promoted revision to go back to (see `history`)")
    template = candidates[0].parsed_template()
    engine = template.engine.model_dump(mode="json", by_alias=True, exclude_none=True)
    engine.pop("replicas", None)  # replicas are not part of a revision
    route: dict[str, Any] = {"port": template.port, "chat": template.chat}
    route["rag"] = (
        template.rag.model_dump(mode="json", by_alias=True) if template.rag is not None else None
    )
    model = template.model.model_dump(mode="json", by_alias=True)
    return {"spec": {"model": model, "engine": engine, "route": route}}
