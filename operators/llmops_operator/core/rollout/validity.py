"""A spec the operator cannot roll out, and the first tick after it is fixed (pure, no I/O).

`mark_spec_invalid` records the error: ``SpecValid=False`` with reason ``InvalidSpec`` and,
unless the phase is one the machine must resume from exactly (`phases.KEPT_PHASES`), phase
``Failed`` with ``Progressing=False`` of the same reason. Each new generation that still does
not parse is marked again, so both conditions always name the current spec's error. Steps,
timers and revisions stay as stored; the shell writes no workload and no traffic while the
spec does not parse.

`resume_valid_spec` runs at the start of `advance.advance`, so on every tick whose spec
parses: after an ``InvalidSpec`` it turns ``SpecValid`` back to ``True`` and, when the phase
is the ``Failed`` that marking set, hands the phase back to the machine, which re-derives it
from the stored progress in the same tick (a first revision loads on, a canary resumes at
its step). A ``Failed`` of another reason (a first revision that never came up) stays.
"""

from __future__ import annotations

from datetime import datetime

from llmops_operator.core.rollout.interface import Transition
from llmops_operator.core.state.phases import (
    KEPT_PHASES,
    Condition,
    ConditionType,
    Phase,
    set_condition,
    spec_valid,
)
from llmops_operator.core.state.status import RolloutStatus

INVALID_SPEC = "InvalidSpec"  # reason of the conditions, and the Warning Event
SPEC_FIXED = "SpecFixed"  # Normal Event: the spec parses again and the rollout goes on


def _condition(status: RolloutStatus, kind: ConditionType) -> Condition | None:
    return next((c for c in status.conditions if c.type == kind), None)


def mark_spec_invalid(
    status: RolloutStatus, message: str, *, generation: int, now: datetime
) -> bool:
    """Record ``message`` in ``status`` (in place); False when this generation is already
    marked (nothing to write, no second Event)."""
    previous = _condition(status, ConditionType.SPEC_VALID)
    if (
        previous is not None
        and previous.reason == INVALID_SPEC
        and previous.observed_generation == generation
    ):
        return False
    status.message, status.observed_generation = message, generation
    conditions = set_condition(
        status.conditions,
        ConditionType.SPEC_VALID,
        False,
        reason=INVALID_SPEC,
        message=message,
        now=now,
        generation=generation,
    )
    # A Failed this marking set earlier is marked again: its Progressing=False must name the
    # current error, not the one the user has fixed since.
    if status.phase not in KEPT_PHASES or is_failed_by_spec(status):
        status.phase = Phase.FAILED
        for kind in (ConditionType.PROGRESSING, ConditionType.PAUSED):
            conditions = set_condition(
                conditions,
                kind,
                False,
                reason=INVALID_SPEC if kind is ConditionType.PROGRESSING else "NotPaused",
                message=message if kind is ConditionType.PROGRESSING else "",
                now=now,
                generation=generation,
            )
    status.conditions = conditions
    return True


def is_failed_by_spec(status: RolloutStatus) -> bool:
    """Phase Failed because the spec did not parse (not because a revision never came up)."""
    progressing = _condition(status, ConditionType.PROGRESSING)
    return (
        status.phase is Phase.FAILED
        and progressing is not None
        and progressing.reason == INVALID_SPEC
    )


def resume_valid_spec(
    status: RolloutStatus, *, generation: int, now: datetime
) -> Transition | None:
    """The spec parses: undo `mark_spec_invalid` (in place). One Normal Event when it did."""
    condition = _condition(status, ConditionType.SPEC_VALID)
    was_invalid = condition is not None and condition.reason == INVALID_SPEC
    failed_by_spec = is_failed_by_spec(status)
    if not was_invalid and not failed_by_spec:
        return None
    if was_invalid:
        status.conditions = spec_valid(status.conditions, now=now, generation=generation)
    if failed_by_spec:
        # Not Failed any more: the strategy sets the phase its stored step implies this tick.
        status.phase = Phase.PENDING if status.stable_hash is None else Phase.PROGRESSING
    return Transition(SPEC_FIXED, "the spec is valid again: the rollout goes on from its status")
