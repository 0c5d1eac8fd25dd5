"""The canary strategy: a straight list of steps over one candidate revision.

Each `reconcile_*` step may return early; the comment on each early return says why.
Step semantics (`strategy.canary.steps[currentStepIndex]`):
- ``setWeight``: write the weight, go on (the shell writes the routing table this tick);
- ``pause``: wait ``duration`` from ``stepStartedAt``, or without duration until `promote`;
- ``analysis``: batches every interval after warm-up; failed -> rollback, inconclusive ->
  Paused (``promote`` skips the gate, ``abort`` rolls back);
- ``loadTest``: start the run once, wait for its verdict; failed -> rollback;
- ``evaluation``: likewise the RAG-quality/fairness run (``EvaluationFailed`` names the
  thresholds missed).
After the last step: Promoting (the canary scales to full size), then the switch.
Replica counts and autoscaler bounds: `core.rollout.scaling`.
"""

from __future__ import annotations

from datetime import timedelta

from llmops_operator.core.rollout.gates import run_analysis, run_evaluation, run_load_test
from llmops_operator.core.rollout.measurements import GateVerdict
from llmops_operator.core.rollout.tick_state import Tick
from llmops_operator.core.spec.schema import CanaryStrategy, parse_duration
from llmops_operator.core.state.phases import Phase
from llmops_operator.core.state.status import LoadTestVerdict


def reconcile_canary(tick: Tick, strategy: CanaryStrategy) -> None:  # noqa: PLR0911
    # A straight list of steps, each returning early (Argo Rollouts style): many returns.
    s = tick.status
    if s.phase is Phase.PROMOTING:
        replicas = tick.candidate_floor(full_size=True)
        if not tick.is_candidate_ready(replicas):
            # Promotion waits for the canary at full size (with an autoscaler: the stable's
            # current size) before it takes all traffic.
            tick.set_phase(Phase.PROMOTING, "ScalingUp", f"canary scaling to {replicas} replicas")
            return
        tick.switch_to_candidate(strategy.scale_down_delay_seconds, "Promoted")
        return
    if not tick.reconcile_candidate_ready(full_size=False, noun="canary"):
        # The model is still loading (or never loaded in time): no step runs until it serves.
        return
    if s.canary_ready_at is None:
        s.canary_ready_at = tick.now
    if tick.spec.paused:
        # spec.paused freezes the steps; timers of a timed pause keep running.
        tick.set_phase(Phase.PAUSED, "PausedByUser", "spec.paused is true")
        return
    index = s.current_step_index or 0
    if index >= len(strategy.steps):
        tick.set_phase(Phase.PROMOTING, "AllStepsDone", "all steps passed; promoting")
        tick.requeue_after = 0.5
        return
    step = strategy.steps[index]
    where = f"step {index + 1}/{len(strategy.steps)}"
    if step.set_weight is not None:
        s.canary_weight = step.set_weight
        tick.set_phase(Phase.PROGRESSING, "WeightSet", f"{where}: canary weight {s.canary_weight}%")
        tick.next_step()
        return
    if step.pause is not None:
        reconcile_pause(tick, step.pause.duration, where)
        return
    if step.analysis is not None:
        verdict, summary, reason = run_analysis(tick, step.analysis, index)
        settle_gate(tick, verdict, summary, reason, where)
        return
    if step.evaluation is not None:
        settle_evaluation(tick, run_evaluation(tick, step.evaluation, index, "canary"), where)
        return
    assert step.load_test is not None
    result = run_load_test(tick, step.load_test, index, "canary")
    settle_load_test(tick, result, where)


def reconcile_pause(tick: Tick, duration: str | None, where: str) -> None:
    s = tick.status
    if tick.promote:
        tick.promote = False
        tick.set_phase(Phase.PROGRESSING, "Promoted", f"{where}: pause ended by promote")
        tick.next_step()
        return
    if duration is None:
        # An indefinite pause ends only with `kubectl llmops promote` (or the annotation).
        tick.set_phase(Phase.PAUSED, "PauseStep", f"{where}: paused until promoted")
        tick.requeue_after = 30.0
        return
    assert s.step_started_at is not None
    ends = s.step_started_at + timedelta(seconds=parse_duration(duration))
    if tick.now < ends:
        # The end is a timestamp in status, so a restarted operator waits the same time.
        tick.set_phase(Phase.PAUSED, "PauseStep", f"{where}: paused until {ends.isoformat()}")
        tick.wait((ends - tick.now).total_seconds())
        return
    tick.set_phase(Phase.PROGRESSING, "PauseEnded", f"{where}: pause of {duration} ended")
    tick.next_step()


def settle_gate(tick: Tick, verdict: GateVerdict, summary: str, reason: str, where: str) -> None:
    """Act on an analysis verdict (shared by canary steps and blue-green pre-promotion)."""
    if verdict is GateVerdict.FAILED:
        tick.rollback("AnalysisFailed", f"{where}: {summary}")
        return
    if verdict is GateVerdict.SUCCESSFUL or tick.promote:
        tick.promote = False
        passed = verdict is GateVerdict.SUCCESSFUL
        reason, how = ("AnalysisPassed", "passed") if passed else ("AnalysisSkipped", "skipped")
        tick.set_phase(Phase.PROGRESSING, reason, f"{where}: analysis {how}")
        tick.next_step()
        return
    if verdict is GateVerdict.INCONCLUSIVE:
        # Not enough evidence either way: a person decides (promote skips, abort rolls back).
        tick.set_phase(Phase.PAUSED, "AnalysisInconclusive", f"{where}: {summary}")
        tick.requeue_after = 30.0
        return
    tick.set_phase(Phase.ANALYZING, reason, f"{where}: {summary}")


def settle_load_test(tick: Tick, verdict: LoadTestVerdict, where: str) -> None:
    s = tick.status
    if verdict is LoadTestVerdict.FAILED:
        detail = s.load_test.message if s.load_test else ""
        tick.rollback("LoadTestFailed", f"{where}: load test failed: {detail}")
        return
    if verdict is LoadTestVerdict.PASSED or tick.promote:
        tick.promote = False
        tick.set_phase(Phase.PROGRESSING, "LoadTestPassed", f"{where}: load test gate passed")
        tick.next_step()
        return
    tick.set_phase(Phase.ANALYZING, "LoadTestRunning", f"{where}: load test running")


def settle_evaluation(tick: Tick, verdict: LoadTestVerdict, where: str) -> None:
    """Act on an evaluation verdict: its message names the thresholds missed
    (``rag token_f1 0.12 < 0.5``), or why the run could not happen."""
    s = tick.status
    if verdict is LoadTestVerdict.FAILED:
        detail = s.evaluation.message if s.evaluation else ""
        tick.rollback("EvaluationFailed", f"{where}: {detail}")
        return
    if verdict is LoadTestVerdict.PASSED or tick.promote:
        tick.promote = False
        how = "passed" if verdict is LoadTestVerdict.PASSED else "skipped by promote"
        reason = "EvaluationPassed" if verdict is LoadTestVerdict.PASSED else "EvaluationSkipped"
        tick.set_phase(Phase.PROGRESSING, reason, f"{where}: evaluation {how}")
        tick.next_step()
        return
    tick.set_phase(Phase.ANALYZING, "EvaluationRunning", f"{where}: evaluation running")
