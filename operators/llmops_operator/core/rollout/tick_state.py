"""One tick's working state and the moves every strategy shares (pure, no I/O).

`Tick` holds a private copy of the status; strategies mutate it through the helpers below,
which keep phase, conditions and events in step: a phase or reason change emits exactly one
`Transition` (an Event and a metric in the shell) and one ``status.timeline`` entry
(`core.state.timeline`), as does a weight change no Transition marks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from llmops_operator.core.rollout.interface import (
    EvaluationRequest,
    LoadTestRequest,
    Observations,
    Transition,
)
from llmops_operator.core.rollout.scaling import candidate_size, full_replicas
from llmops_operator.core.spec.schema import ModelDeploymentSpec, RevisionTemplate
from llmops_operator.core.state.phases import ConditionType, Phase, set_condition
from llmops_operator.core.state.status import MAX_HISTORY, HistoryEntry, RolloutStatus
from llmops_operator.core.state.timeline import is_weight_moved, note

ACTIVE_REQUEUE_S = 2.0
IDLE_REQUEUE_S = 30.0


@dataclass
class Tick:
    spec: ModelDeploymentSpec
    status: RolloutStatus
    obs: Observations
    now: datetime
    template: RevisionTemplate  # the desired revision (from the spec)
    desired_hash: str
    promote: bool = False  # a `promote` command is waiting to be consumed by a wait
    done: bool = False  # a command already decided this tick (its effect must be written first)
    events: list[Transition] = field(default_factory=list)
    requeue_after: float = ACTIVE_REQUEUE_S
    start_load_test: LoadTestRequest | None = None
    start_evaluation: EvaluationRequest | None = None
    rollout_started: bool = False  # start_candidate ran: the next timeline entry opens a rollout

    # -- phase and conditions ------------------------------------------------------------

    def set_phase(
        self,
        phase: Phase,
        reason: str,
        message: str,
        warning: bool = False,
        *,
        event: Transition | None = None,
    ) -> None:
        """Move to ``phase``; an Event is emitted only when phase or reason changes: ``event``
        when given (the conditions keep ``reason``), else one of ``reason`` and ``message``."""
        s = self.status
        previous = next((c for c in s.conditions if c.type == ConditionType.PROGRESSING), None)
        changed = s.phase != phase or previous is None or previous.reason != reason
        if changed:
            self.events.append(event or Transition(reason, message, warning=warning))
        s.phase, s.message = phase, message
        if changed or self.rollout_started or is_weight_moved(s):
            note(
                s,
                now=self.now,
                reason=reason,
                message=message,
                warning=warning,
                rollout_start=self.rollout_started,
            )
            self.rollout_started = False
        now, gen = self.now, self.obs.generation
        paused = phase is Phase.PAUSED
        serving = s.stable_hash is not None
        conditions = set_condition(
            s.conditions,
            ConditionType.PROGRESSING,
            not phase.is_terminal,
            reason=reason,
            message=message,
            now=now,
            generation=gen,
        )
        conditions = set_condition(
            conditions,
            ConditionType.PAUSED,
            paused,
            reason=reason if paused else "NotPaused",
            message=message if paused else "",
            now=now,
            generation=gen,
        )
        conditions = set_condition(
            conditions,
            ConditionType.AVAILABLE,
            serving,
            reason="StableServing" if serving else "NoStableRevision",
            message=f"revision {s.stable_revision} serves traffic" if serving else "",
            now=now,
            generation=gen,
        )
        s.conditions = set_condition(
            conditions,
            ConditionType.SPEC_VALID,
            True,
            reason="Valid",
            message="",
            now=now,
            generation=gen,
        )
        if phase.is_terminal:
            self.requeue_after = IDLE_REQUEUE_S

    def wait(self, seconds: float) -> None:
        """Come back no later than ``seconds`` from now."""
        self.requeue_after = max(0.5, min(self.requeue_after, seconds))

    # -- moves shared by canary and blue-green ------------------------------------------

    def start_candidate(self) -> None:
        """A new desired revision: reset every rollout timer and counter (clean restart)."""
        s = self.status
        if s.canary_hash is not None and s.phase not in (Phase.SUCCEEDED, Phase.ROLLED_BACK):
            dropped = f"spec changed mid-rollout: candidate {s.canary_revision} dropped"
            self.events.append(Transition("RolloutRestarted", dropped, warning=True))
            # The last entry of the interrupted rollout, while the status still describes it.
            note(s, now=self.now, reason="RolloutRestarted", message=dropped, warning=True)
        self.rollout_started = True
        s.canary_hash, s.canary_revision = self.desired_hash, self.template.label
        s.canary_weight, s.current_step_index = 0, 0
        s.rollout_started_at = s.canary_created_at = s.step_started_at = self.now
        s.canary_ready_at, s.load_test, s.analysis_runs = None, None, []
        s.evaluation = None

    def next_step(self) -> None:
        s = self.status
        s.current_step_index = (s.current_step_index or 0) + 1
        s.step_started_at = self.now
        self.requeue_after = 0.5

    def is_past_deadline(self) -> bool:
        """The deadline counts the model-load budget first, then progressDeadlineSeconds."""
        created = self.status.canary_created_at or self.now
        budget = self.spec.engine.load_budget_seconds + self.spec.progress_deadline_seconds
        return self.now >= created + timedelta(seconds=budget)

    def reconcile_candidate_ready(self, *, full_size: bool, noun: str) -> bool:
        """True when the candidate has its floor Ready (`candidate_floor`) and the strategy
        goes on. False ends the tick: WaitingForReady while the model loads, or a rollback
        once the progress deadline has passed (counted from the candidate's creation, or
        from the tick that found a candidate which had served without its Ready pods).
        ``noun`` names the candidate in messages."""
        if self.is_candidate_ready(self.candidate_floor(full_size=full_size)):
            return True
        s = self.status
        waiting = any(
            c.type == ConditionType.PROGRESSING and c.reason == "WaitingForReady"
            for c in s.conditions
        )
        if s.canary_ready_at is not None and not waiting:
            # It served, then lost its Ready pods (a node lost, an eviction): the new pods
            # load the model again, so the deadline clock restarts now, not at its creation.
            s.canary_created_at = self.now
        if self.is_past_deadline():
            budget = self.spec.engine.load_budget_seconds + self.spec.progress_deadline_seconds
            self.rollback("ProgressDeadlineExceeded", f"{noun} not Ready within {budget}s")
            return False
        self.set_phase(Phase.PROGRESSING, "WaitingForReady", f"{noun} is loading its model")
        return False

    def candidate_floor(self, *, full_size: bool) -> int:
        """Replicas the candidate must have Ready (see `scaling.candidate_size`)."""
        stable = self.obs.stable.replicas if self.obs.stable is not None else 0
        floor, _ = candidate_size(
            self.spec,
            weight=self.status.canary_weight,
            full_size=full_size,
            stable_replicas=stable,
        )
        return floor

    def is_candidate_ready(self, replicas: int) -> bool:
        seen = self.obs.canary
        if seen is not None and seen.ready is not None:
            # The backend (KServe) scales the revision: its floor is not ours to count.
            return seen.exists and seen.ready
        wanted = max(1, replicas) if full_replicas(self.spec) > 0 else 0
        return seen is not None and seen.exists and seen.ready_replicas >= wanted

    def rollback(self, reason: str, message: str) -> None:
        """Candidate weight to 0 now (RollingBack); scaled to 0 (RolledBack) once the
        strategy's ``abortScaleDownDelaySeconds`` have passed (`is_rollback_drained`)."""
        self.status.canary_weight = 0
        self.status.step_started_at = self.now  # the drain's clock
        self.set_phase(Phase.ROLLING_BACK, reason, message, warning=True)
        self.requeue_after = 0.5
        self.done = True

    def is_rollback_drained(self) -> bool:
        """Whether the rolled-back candidate has served its last request: its weight has
        been 0 for the strategy's ``abortScaleDownDelaySeconds``; else come back then."""
        strategy = self.spec.strategy.canary or self.spec.strategy.blue_green
        delay = strategy.abort_scale_down_delay_seconds if strategy is not None else 0
        since = self.status.step_started_at or self.now
        left = (since + timedelta(seconds=delay) - self.now).total_seconds()
        if left <= 0:
            return True
        self.wait(left)
        return False

    def finish_rollback(self) -> None:
        s = self.status
        self._record(s.canary_hash, s.canary_revision, "RolledBack", s.message)
        reason = next(
            (c.reason for c in s.conditions if c.type == ConditionType.PROGRESSING), "RolledBack"
        )
        # The conditions keep naming the cause (AbortedByUser, AnalysisFailed, ...), whose
        # Event went out when the rollback began; the end is an Event of its own, not a repeat.
        done = f"revision {s.canary_revision} scaled to 0 after {reason}; stable serves"
        self.set_phase(
            Phase.ROLLED_BACK,
            reason,
            s.message,
            warning=True,
            event=Transition("RolledBack", done, warning=True),
        )

    def switch_to_candidate(self, scale_down_delay_s: int, reason: str) -> None:
        """The atomic switch: the candidate becomes stable with all traffic in one write;
        the old stable stays scaled up for ``scale_down_delay_s`` (instant rollback)."""
        s = self.status
        old_hash = s.stable_hash
        s.stable_hash, s.stable_revision = s.canary_hash, s.canary_revision
        s.canary_hash = s.canary_revision = None
        # status.loadTest and status.evaluation stay: the gates (and reports) that let
        # this revision through.
        s.canary_weight, s.current_step_index = 0, None
        if old_hash is not None and old_hash != s.stable_hash and scale_down_delay_s > 0:
            s.scale_down_hash = old_hash
            s.scale_down_at = self.now + timedelta(seconds=scale_down_delay_s)
        self._record(s.stable_hash, s.stable_revision, "Promoted", reason)
        self.set_phase(Phase.SUCCEEDED, reason, f"revision {s.stable_revision} is stable")

    def _record(self, revision_hash: str | None, label: str | None, result: str, msg: str) -> None:
        if revision_hash is None:
            return
        template = self.status.template_for(revision_hash)
        if revision_hash == self.desired_hash:
            template = self.template
        if template is None:
            return
        entry = HistoryEntry(
            revision=label or revision_hash,
            hash=revision_hash,
            result=result,
            at=self.now,
            message=msg,
            template=template.model_dump(mode="json", by_alias=True, exclude_none=True),
        )
        self.status.history = [*self.status.history, entry][-MAX_HISTORY:]
