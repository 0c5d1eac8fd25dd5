"""The gates: Prometheus analysis and the load test (both strategies), the evaluation (pure)."""

from __future__ import annotations

from datetime import datetime

from llmops_operator.core.rollout.interface import (
    EvaluationRequest,
    LoadTestObservation,
    LoadTestRequest,
    Role,
)
from llmops_operator.core.rollout.measurements import (
    GateVerdict,
    evaluate,
    next_batch_at,
    warmup_end,
    window_seconds,
)
from llmops_operator.core.rollout.tick_state import Tick
from llmops_operator.core.spec.schema import (
    AnalysisSpec,
    EvaluationSpec,
    LoadTestSpec,
    parse_duration,
)
from llmops_operator.core.state.status import (
    MAX_ANALYSIS_RUNS,
    AnalysisRun,
    LoadTestStatus,
    LoadTestVerdict,
    MeasurementResult,
)


def run_analysis(tick: Tick, gate: AnalysisSpec, step: int) -> tuple[GateVerdict, str, str]:
    """Record this tick's measurements for ``step`` and add up the gate.

    Returns the verdict, a summary and a reason (``WarmingUp`` while the revision's metrics
    are still ignored, ``AnalysisRunning`` while batches are missing).
    """
    s = tick.status
    warm_end = warmup_end(s.canary_ready_at, tick.spec.warmup_seconds)
    if warm_end is None or s.step_started_at is None:
        return GateVerdict.RUNNING, "waiting for the revision to be Ready", "WaitingForReady"
    if tick.obs.measurements:
        # No data over a window still filling (shorter than the gate's, clamped to the time
        # since warm-up): a rate needs two scrapes in it, so this batch is shown but not
        # counted, and the next interval measures again over a longer window.
        window_s = window_seconds(gate, warm_end, tick.now)
        pending = [m for m in tick.obs.measurements if m.result is not MeasurementResult.SUCCESSFUL]
        filling = window_s < parse_duration(gate.window)
        counted = not (filling and pending and all(m.no_data for m in pending))
        note = "" if counted else f"window still filling ({window_s} s of {gate.window}): "
        batch = [
            AnalysisRun(
                step=step,
                metric=m.metric,
                value=m.value,
                threshold=m.threshold,
                passed={"Successful": True, "Failed": False}.get(m.result.value),
                result=m.result,
                message=f"{note}{m.message}" if m.no_data else m.message,
                at=tick.now,
                counted=counted,
            )
            for m in tick.obs.measurements
        ]
        s.analysis_runs = [*s.analysis_runs, *batch][-MAX_ANALYSIS_RUNS:]
    runs = [run for run in s.analysis_runs if run.step == step]
    verdict, summary = evaluate(gate, runs)
    if verdict is GateVerdict.RUNNING:
        due = next_batch_at(gate, s.step_started_at, warm_end, runs)
        tick.wait((due - tick.now).total_seconds())
        if tick.now < warm_end:
            return verdict, f"warm-up: metrics ignored until {warm_end.isoformat()}", "WarmingUp"
    return verdict, summary, f"Analysis{verdict.value}"


def is_measurement_due(
    gate: AnalysisSpec,
    runs: list[AnalysisRun],
    *,
    step: int,
    step_started_at: datetime | None,
    ready_at: datetime | None,
    warmup_s: int,
    now: datetime,
) -> bool:
    """True when the shell should query Prometheus before calling `advance`."""
    warm_end = warmup_end(ready_at, warmup_s)
    if warm_end is None or step_started_at is None:
        return False
    mine = [run for run in runs if run.step == step]
    if evaluate(gate, mine)[0] is not GateVerdict.RUNNING:
        return False
    return now >= next_batch_at(gate, step_started_at, warm_end, mine)


def _gate_progress(
    current: LoadTestStatus | None,
    seen: LoadTestObservation | None,
    name: str,
    step: int,
    now: datetime,
) -> tuple[LoadTestStatus, LoadTestVerdict, bool]:
    """A gate run's status, its verdict, and whether to (re)start it: once the shell saw run
    ``name`` end, its verdict; not seen at all (first tick, or lost with a restarted
    operator), a start."""
    status = current if current is not None and current.name == name else None
    status = status or LoadTestStatus(name=name, step=step, started_at=now)
    if seen is not None and seen.name == name and seen.verdict is not LoadTestVerdict.RUNNING:
        update = {"verdict": seen.verdict, "report_url": seen.report_url, "message": seen.message,
                  "evaluations": list(seen.evaluations)}  # fmt: skip
        return status.model_copy(update=update), seen.verdict, False
    return status, LoadTestVerdict.RUNNING, seen is None or seen.name != name


def run_name(kind: str, tick: Tick, step: int) -> str:
    """``<kind>-<hash>-<rollout start>-s<step>``: the same run on every tick and after an
    operator restart (the start is in status), a new one for each rollout of the revision
    (a `retry`, or the revision again after a return to stable), whose verdict the last
    run's, kept in its ConfigMap, must not stand in for."""
    s = tick.status
    started = s.rollout_started_at
    stamp = f"-{started:%m%d%H%M%S}" if started is not None else ""
    return f"{kind}-{s.canary_hash}{stamp}-s{step}"


def run_load_test(tick: Tick, gate: LoadTestSpec, step: int, role: Role) -> LoadTestVerdict:
    """Start the step's load test once; then report the verdict the shell observed."""
    s = tick.status
    assert s.canary_hash is not None
    name = run_name("lt", tick, step)
    s.load_test, verdict, start = _gate_progress(s.load_test, tick.obs.load_test, name, step,
                                                 tick.now)  # fmt: skip
    if start:
        tick.start_load_test = LoadTestRequest(name, s.canary_hash, role, gate)
    return verdict


def run_evaluation(tick: Tick, gate: EvaluationSpec, step: int, role: Role) -> LoadTestVerdict:
    """Start the step's evaluation once (`run_name`); then report the verdict the shell
    observed."""
    s = tick.status
    assert s.canary_hash is not None
    name = run_name("ev", tick, step)
    s.evaluation, verdict, start = _gate_progress(s.evaluation, tick.obs.evaluation, name, step,
                                                  tick.now)  # fmt: skip
    if start:
        tick.start_evaluation = EvaluationRequest(name, s.canary_hash, role, gate)
    return verdict
