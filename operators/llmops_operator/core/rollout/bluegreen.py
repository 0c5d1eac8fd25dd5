"""The blue-green strategy: a full-size preview, gates, then one atomic switch.

Implicit steps (``currentStepIndex``): 0 pre-promotion analysis, 1 pre-promotion load test,
2 pre-promotion evaluation (skipped within the tick when there is none), 3 promotion
(automatic after ``autoPromotionSeconds`` when ``autoPromote``, else a person runs
`promote`). The preview serves no weighted traffic; the gateway reaches it through its
preview pin (backend role ``preview``, weight 0). After the switch the old revision stays
scaled up for ``scaleDownDelaySeconds``: an undo inside that window switches back at once.
"""

from __future__ import annotations

from datetime import timedelta

from llmops_operator.core.rollout.canary import settle_evaluation, settle_gate, settle_load_test
from llmops_operator.core.rollout.gates import run_analysis, run_evaluation, run_load_test
from llmops_operator.core.rollout.tick_state import Tick
from llmops_operator.core.spec.schema import BlueGreenStrategy
from llmops_operator.core.state.phases import Phase

STEPS = ("prePromotionAnalysis", "prePromotionLoadTest", "prePromotionEvaluation", "promotion")


def reconcile_blue_green(tick: Tick, strategy: BlueGreenStrategy) -> None:  # noqa: PLR0911
    # A straight list of steps, each returning early (Argo Rollouts style): many returns.
    s = tick.status
    if not tick.reconcile_candidate_ready(full_size=True, noun="preview"):
        # The preview runs at full size from the start, so the switch needs no scale-up.
        return
    if s.canary_ready_at is None:
        s.canary_ready_at = tick.now
    if s.phase is Phase.PROMOTING:
        tick.switch_to_candidate(strategy.scale_down_delay_seconds, "Promoted")
        return
    if tick.spec.paused:
        tick.set_phase(Phase.PAUSED, "PausedByUser", "spec.paused is true")
        return
    index = s.current_step_index or 0
    where = f"{STEPS[min(index, len(STEPS) - 1)]}"
    if index == 0:
        if strategy.pre_promotion_analysis is None:
            tick.next_step()
            return
        verdict, summary, reason = run_analysis(tick, strategy.pre_promotion_analysis, 0)
        settle_gate(tick, verdict, summary, reason, where)
        return
    if index == 1:
        if strategy.pre_promotion_load_test is None:
            tick.next_step()
            return
        result = run_load_test(tick, strategy.pre_promotion_load_test, 1, "preview")
        settle_load_test(tick, result, where)
        return
    if index == 2:
        if strategy.pre_promotion_evaluation is not None:
            result = run_evaluation(tick, strategy.pre_promotion_evaluation, 2, "preview")
            settle_evaluation(tick, result, where)
            return
        # No evaluation: on to the promotion in this tick (as before the step existed, so a
        # rollout stored at index 2 by an older operator resumes at its promotion).
        tick.next_step()
    assert s.canary_ready_at is not None
    auto_at = s.canary_ready_at + timedelta(seconds=strategy.auto_promotion_seconds)
    if tick.promote or (strategy.auto_promote and tick.now >= auto_at):
        tick.promote = False
        # Promoting for one tick: the switch happens on the next, after status is stored,
        # so a crash between the two never leaves traffic half-moved.
        tick.set_phase(Phase.PROMOTING, "Promoting", "switching all traffic to the preview")
        tick.requeue_after = 0.5
        return
    if strategy.auto_promote:
        tick.set_phase(Phase.PAUSED, "AutoPromotionPending", f"promotes at {auto_at.isoformat()}")
        tick.wait((auto_at - tick.now).total_seconds())
        return
    # Manual promotion: the preview waits for a person (`kubectl llmops promote`).
    tick.set_phase(Phase.PAUSED, "WaitingForPromotion", "preview ready; run promote to switch")
    tick.requeue_after = 30.0
