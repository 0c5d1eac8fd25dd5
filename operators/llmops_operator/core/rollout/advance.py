"""`advance`: one tick of the rollout state machine (pure: no clock, no I/O).

Order of a tick (each branch may end the tick early; the comment says why):
0. a spec that did not parse on an earlier tick does now: ``SpecValid`` turns True and a
   ``Failed`` set by that is left for the branches below to re-derive (`core.rollout.validity`);
1. a pending command (``llmops.dev/command`` annotation) is applied and remembered (``undo``
   only names the spec change that came with it in an Event);
2. no stable revision yet -> the first revision comes up without steps (Pending);
3. the spec asks for the stable revision -> any candidate is dropped (Succeeded);
4. the spec asks for a revision that is not the candidate -> a clean restart (or an
   instant switch back when that revision is still scaled up inside the scale-down window);
5. RollingBack -> RolledBack; RolledBack holds until `retry` or a new spec;
6. the strategy (canary or blue-green) advances one step.
Workloads and traffic are then derived from the resulting status alone, and
``stepDisplay`` from the step index (`core.state.timeline.step_display`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from llmops_operator.core.rollout.bluegreen import STEPS as BLUE_GREEN_STEPS
from llmops_operator.core.rollout.bluegreen import reconcile_blue_green
from llmops_operator.core.rollout.canary import reconcile_canary
from llmops_operator.core.rollout.gates import is_measurement_due
from llmops_operator.core.rollout.interface import (
    Decision,
    Observations,
    Role,
    TrafficShare,
    Transition,
    WorkloadIntent,
)
from llmops_operator.core.rollout.measurements import (
    MetricQuery,
    QueryTarget,
    build_queries,
    window_seconds,
)
from llmops_operator.core.rollout.scaling import (
    AutoscalerBounds,
    candidate_size,
    full_bounds,
    full_replicas,
    stable_bounds,
)
from llmops_operator.core.rollout.tick_state import Tick
from llmops_operator.core.rollout.validity import resume_valid_spec
from llmops_operator.core.spec.schema import (
    AnalysisSpec,
    ModelDeploymentSpec,
    RevisionTemplate,
    template_hash,
    template_of,
)
from llmops_operator.core.state.phases import Phase
from llmops_operator.core.state.status import RolloutStatus
from llmops_operator.core.state.timeline import step_display

COMMANDS = ("promote", "promote-full", "abort", "retry", "undo")


def command_verb(value: str) -> str:
    """``promote-full:1719000000`` -> ``promote-full`` (the suffix makes repeats distinct)."""
    return value.split(":", 1)[0].strip()


def advance(
    spec: ModelDeploymentSpec, status: RolloutStatus, obs: Observations, now: datetime
) -> Decision:
    """Next status and the world the shell must make true (see the module docstring)."""
    template = template_of(spec)
    tick = Tick(spec, status.model_copy(deep=True), obs, now, template, template_hash(template))
    s = tick.status
    s.observed_generation = obs.generation
    fixed = resume_valid_spec(s, generation=obs.generation, now=now)
    if fixed is not None:
        tick.events.append(fixed)
    if s.scale_down_at is not None and now >= s.scale_down_at:
        tick.events.append(Transition("ScaledDown", f"old revision {s.scale_down_hash} removed"))
        s.scale_down_hash = s.scale_down_at = None
    if obs.command is not None:
        apply_command(tick, obs.command)
    if tick.done:
        pass  # the command's own decision is written before anything else moves
    elif s.stable_hash is None:
        reconcile_first_revision(tick)
    elif tick.desired_hash == s.stable_hash:
        reconcile_steady(tick)
    elif tick.desired_hash != s.canary_hash:
        reconcile_new_revision(tick)
    elif s.phase is Phase.ROLLING_BACK:
        if tick.is_rollback_drained():
            tick.finish_rollback()
    elif s.phase is Phase.ROLLED_BACK:
        # Rejected: stays down until `retry` or a different spec; nothing to do.
        tick.requeue_after = 30.0
    elif spec.strategy.canary is not None:
        reconcile_canary(tick, spec.strategy.canary)
    else:
        assert spec.strategy.blue_green is not None
        reconcile_blue_green(tick, spec.strategy.blue_green)
    canary = spec.strategy.canary
    s.step_display = step_display(s, len(canary.steps) if canary else len(BLUE_GREEN_STEPS))
    return Decision(
        status=s,
        workloads=desired_workloads(spec, s, tick),
        traffic=desired_traffic(spec, s, tick),
        start_load_test=tick.start_load_test,
        start_evaluation=tick.start_evaluation,
        events=tick.events,
        requeue_after=tick.requeue_after,
    )


def apply_command(tick: Tick, value: str) -> None:
    s = tick.status
    s.last_command = value
    verb = command_verb(value)
    active = s.canary_hash is not None and s.phase not in (
        Phase.SUCCEEDED,
        Phase.ROLLED_BACK,
        Phase.ROLLING_BACK,
        Phase.FAILED,
    )
    if verb == "abort" and active:
        tick.rollback("AbortedByUser", "aborted by a person; stable untouched")
    elif verb == "promote" and active:
        tick.promote = True
    elif verb == "promote-full" and active:
        tick.set_phase(Phase.PROMOTING, "PromotedFull", "promote --full: remaining steps skipped")
        tick.done = True
    elif verb == "undo":
        # `kubectl llmops undo` writes the older spec and this command in one patch: the spec
        # is the undo (handled below as any new spec); the command makes it an Event.
        tick.events.append(
            Transition("UndoneByUser", f"undo: spec set back to revision {tick.template.label}")
        )
    elif verb == "retry" and s.phase is Phase.ROLLED_BACK and s.canary_hash == tick.desired_hash:
        tick.start_candidate()
        tick.set_phase(Phase.PROGRESSING, "Retried", "retry: steps restart from the first")
    else:
        why = "unknown command" if verb not in COMMANDS else f"nothing to {verb} in {s.phase}"
        tick.events.append(Transition("CommandIgnored", f"{value}: {why}", warning=True))


def reconcile_first_revision(tick: Tick) -> None:
    s = tick.status
    if s.canary_hash != tick.desired_hash:
        tick.start_candidate()
        tick.set_phase(Phase.PENDING, "FirstRevision", f"starting revision {s.canary_revision}")
        return
    if s.phase is Phase.FAILED:
        # Nothing to roll back to: wait for a new spec.
        return
    if tick.is_candidate_ready(tick.candidate_floor(full_size=True)):
        s.canary_ready_at = tick.now
        tick.switch_to_candidate(0, "FirstRevisionReady")
        return
    if tick.is_past_deadline():
        tick.set_phase(
            Phase.FAILED,
            "ProgressDeadlineExceeded",
            "first revision never became Ready",
            warning=True,
        )
        return
    tick.set_phase(Phase.PENDING, "WaitingForReady", "first revision is loading its model")


def reconcile_steady(tick: Tick) -> None:
    s = tick.status
    if s.canary_hash is not None:
        # The spec went back to the stable revision: drop the candidate, traffic stays.
        tick.events.append(
            Transition("CandidateDropped", f"spec returned to stable; {s.canary_revision} removed")
        )
        s.canary_hash = s.canary_revision = None
        s.canary_weight, s.current_step_index, s.load_test = 0, None, None
        s.evaluation = None
    tick.set_phase(Phase.SUCCEEDED, "Stable", f"revision {s.stable_revision} is stable")
    if s.scale_down_at is not None:
        tick.wait((s.scale_down_at - tick.now).total_seconds())


def reconcile_new_revision(tick: Tick) -> None:
    s = tick.status
    if tick.desired_hash == s.scale_down_hash:
        # Undo inside the scale-down window: the old revision is still up, switch back now.
        s.canary_hash, s.canary_revision = tick.desired_hash, tick.template.label
        s.scale_down_hash = s.scale_down_at = None
        strategy = tick.spec.strategy.blue_green or tick.spec.strategy.canary
        assert strategy is not None
        tick.switch_to_candidate(strategy.scale_down_delay_seconds, "FastRollback")
        return
    tick.start_candidate()
    tick.set_phase(Phase.PROGRESSING, "NewRevision", f"rolling out revision {s.canary_revision}")


def _template(s: RolloutStatus, tick: Tick, revision_hash: str) -> RevisionTemplate | None:
    if revision_hash == tick.desired_hash:
        return tick.template
    return s.template_for(revision_hash)


def desired_workloads(
    spec: ModelDeploymentSpec, s: RolloutStatus, tick: Tick
) -> tuple[WorkloadIntent, ...]:
    """Every revision that should exist now, with its replicas or autoscaler bounds (the rule
    is in `core.rollout.scaling`); the shell deletes the others."""
    if spec.route.router == "kserve":
        # KServe runs every revision inside the InferenceService (`core.manifests.kserve`):
        # none of ours.
        return ()
    autoscaling = spec.engine.autoscaling
    full = full_replicas(spec)

    def intent(
        revision_hash: str, replicas: int, bounds: AutoscalerBounds | None
    ) -> WorkloadIntent:
        # An autoscaler, ours or another's, owns spec.replicas: never write it then. One
        # exception: an HPA leaves a Deployment at 0 alone ("scaling disabled"), so a revision
        # of ours coming back from 0 (retry after a rollback) gets its floor written once.
        seen = {s.stable_hash: tick.obs.stable, s.canary_hash: tick.obs.canary}.get(revision_hash)
        at_zero = seen is not None and seen.exists and seen.replicas == 0 and replicas > 0
        write = (bounds is None or at_zero) and revision_hash not in tick.obs.autoscaled
        template = _template(s, tick, revision_hash)
        return WorkloadIntent(revision_hash, template, replicas, bounds, write)

    out: list[WorkloadIntent] = []
    if s.stable_hash is not None:
        bounds = stable_bounds(autoscaling, s.canary_weight) if autoscaling else None
        out.append(intent(s.stable_hash, bounds.min_replicas if bounds else full, bounds))
    if s.canary_hash is not None:
        if s.phase in (Phase.ROLLED_BACK, Phase.FAILED):
            # Kept (scaled to 0, its autoscaler removed) for inspection and `retry`.
            out.append(intent(s.canary_hash, 0, None))
        else:
            full_size = (
                s.stable_hash is None
                or s.phase is Phase.PROMOTING
                or spec.strategy.blue_green is not None
            )
            replicas, bounds = candidate_size(
                spec,
                weight=s.canary_weight,
                full_size=full_size,
                stable_replicas=tick.obs.stable.replicas if tick.obs.stable else 0,
            )
            out.append(intent(s.canary_hash, replicas, bounds))
    if s.scale_down_hash is not None and s.scale_down_hash not in (s.stable_hash, s.canary_hash):
        # Kept at full size for an instant undo until scaleDownAt.
        bounds = full_bounds(autoscaling) if autoscaling else None
        out.append(intent(s.scale_down_hash, full, bounds))
    return tuple(out)


def desired_traffic(
    spec: ModelDeploymentSpec, s: RolloutStatus, tick: Tick
) -> tuple[TrafficShare, ...]:
    """Weights per revision; empty until a first revision is stable."""
    if s.stable_hash is None:
        return ()
    shares = [
        TrafficShare(
            s.stable_hash, "stable", 100 - s.canary_weight, _template(s, tick, s.stable_hash)
        )
    ]
    if s.canary_hash is not None and s.phase not in (Phase.ROLLED_BACK, Phase.FAILED):
        role: Role = "preview" if spec.strategy.blue_green else "canary"
        shares.append(
            TrafficShare(s.canary_hash, role, s.canary_weight, _template(s, tick, s.canary_hash))
        )
    return tuple(shares)


def current_gate(spec: ModelDeploymentSpec, s: RolloutStatus) -> AnalysisSpec | None:
    """The analysis gate of the current step, if the rollout is at one."""
    if s.canary_hash is None or s.phase not in (Phase.PROGRESSING, Phase.ANALYZING, Phase.PAUSED):
        return None
    index = s.current_step_index or 0
    if spec.strategy.canary is not None:
        steps = spec.strategy.canary.steps
        return steps[index].analysis if index < len(steps) else None
    assert spec.strategy.blue_green is not None
    return spec.strategy.blue_green.pre_promotion_analysis if index == 0 else None


def plan_measurements(
    spec: ModelDeploymentSpec,
    s: RolloutStatus,
    namespace: str,
    deployment: str,
    now: datetime,
    *,
    stable_deployment: str = "",
) -> list[MetricQuery]:
    """The queries the shell must run before `advance` this tick (empty when none is due).
    ``deployment`` and ``stable_deployment`` name the candidate's and the stable's pods."""
    gate = current_gate(spec, s)
    index = s.current_step_index or 0
    if (
        gate is None
        or s.canary_ready_at is None
        or not is_measurement_due(
            gate,
            s.analysis_runs,
            step=index,
            step_started_at=s.step_started_at,
            ready_at=s.canary_ready_at,
            warmup_s=spec.warmup_seconds,
            now=now,
        )
    ):
        return []
    role = "preview" if spec.strategy.blue_green else "canary"
    target = QueryTarget(spec.alias, role, namespace, deployment, stable_deployment)
    warm_end = s.canary_ready_at + timedelta(seconds=spec.warmup_seconds)
    return build_queries(gate, target, window_seconds(gate, warm_end, now))
