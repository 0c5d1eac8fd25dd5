"""A spec that stops parsing marks the rollout; the first tick after the fix resumes it.

`mark_spec_invalid` is what the shell records when `parse_spec` raises; the ticks after it
are ticks with the fixed spec. The fix here keeps the revision's template (a strategy field
was wrong), so the template hash, and with it the candidate, stays the same.
"""

from __future__ import annotations

from llmops_operator.core.rollout.validity import mark_spec_invalid
from llmops_operator.core.state.phases import ConditionType, Phase
from llmops_operator.core.state.status import RolloutStatus
from tests.unit.operator.sim import World, deployed, make_spec, with_revision


def condition(status: RolloutStatus, kind: ConditionType) -> tuple[str, str]:
    found = next(c for c in status.conditions if c.type == kind)
    return found.status, found.reason


def phase(world: World) -> Phase | None:
    return world.status.phase


def reasons(world: World) -> list[str]:
    assert world.last is not None
    return [event.reason for event in world.last.events]


def break_spec(world: World, generation: int = 2) -> RolloutStatus:
    """What the shell does on a tick whose spec does not parse; the marked status."""
    assert mark_spec_invalid(world.status, "bad strategy", generation=generation, now=world.now)
    return world.status


def test_a_fixed_spec_lets_the_first_revision_come_up() -> None:
    world = World(make_spec())
    # tick: the first revision starts loading
    world.tick()
    assert phase(world) is Phase.PENDING
    first = world.status.canary_hash
    # the spec stops parsing: Failed, SpecValid=False, Progressing=False
    marked = break_spec(world)
    assert marked.phase is Phase.FAILED
    assert condition(marked, ConditionType.SPEC_VALID) == ("False", "InvalidSpec")
    assert condition(marked, ConditionType.PROGRESSING) == ("False", "InvalidSpec")
    # tick: fixed (same revision), and the revision is Ready meanwhile: it becomes stable
    world.make_ready()
    world.tick(5)
    assert phase(world) is Phase.SUCCEEDED
    assert world.status.stable_hash == first
    assert condition(world.status, ConditionType.SPEC_VALID) == ("True", "Valid")
    assert reasons(world) == ["SpecFixed", "FirstRevisionReady"]
    assert world.weights() == {"stable": 100}


def test_a_fixed_spec_lets_a_loading_first_revision_go_on_loading() -> None:
    world = World(make_spec())
    world.tick()
    break_spec(world)
    # tick: fixed while the model still loads: Pending again, not Failed
    world.tick(5)
    assert phase(world) is Phase.PENDING
    assert condition(world.status, ConditionType.PROGRESSING) == ("True", "WaitingForReady")
    assert condition(world.status, ConditionType.SPEC_VALID) == ("True", "Valid")


def test_a_fixed_spec_resumes_a_canary_at_its_step() -> None:
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)  # step 1: 20 %
    world.tick(1)  # step 2: a 30 s pause
    assert (phase(world), world.status.current_step_index) == (Phase.PAUSED, 1)
    candidate = world.status.canary_hash
    assert break_spec(world).phase is Phase.FAILED
    # tick: fixed inside the pause: paused again at the same step, same candidate, same weight
    world.tick(5)
    assert (phase(world), world.status.current_step_index) == (Phase.PAUSED, 1)
    assert world.status.canary_hash == candidate
    assert world.weights() == {"stable": 80, "canary": 20}
    assert "SpecFixed" in reasons(world)
    # tick: the pause ends on time (its start is stored): step 3 comes next
    world.tick(26)
    assert world.status.current_step_index == 2


def test_a_rejected_candidate_stays_rejected_after_the_fix() -> None:
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)
    world.tick(1, command="abort:1")
    world.tick(1)
    assert phase(world) is Phase.ROLLED_BACK
    history = list(world.status.history)
    # the spec stops parsing: RolledBack is kept (nothing to re-derive it from)
    marked = break_spec(world)
    assert marked.phase is Phase.ROLLED_BACK
    assert condition(marked, ConditionType.SPEC_VALID) == ("False", "InvalidSpec")
    # tick: fixed: still RolledBack, no second rollback, the spec is valid again
    world.tick(5)
    assert phase(world) is Phase.ROLLED_BACK
    assert world.status.history == history
    assert condition(world.status, ConditionType.SPEC_VALID) == ("True", "Valid")
    assert world.weights() == {"stable": 100}


def test_a_first_revision_that_never_came_up_stays_failed_after_an_unrelated_fix() -> None:
    world = World(make_spec())
    world.tick()
    world.tick(91)
    assert condition(world.status, ConditionType.PROGRESSING) == (
        "False",
        "ProgressDeadlineExceeded",
    )
    break_spec(world)
    world.tick(1)
    assert phase(world) is Phase.FAILED
    assert condition(world.status, ConditionType.PROGRESSING)[1] == "ProgressDeadlineExceeded"
    assert condition(world.status, ConditionType.SPEC_VALID) == ("True", "Valid")


def test_one_mark_per_generation() -> None:
    world = World(make_spec())
    world.tick()
    break_spec(world, generation=2)
    assert not mark_spec_invalid(world.status, "bad strategy", generation=2, now=world.now)
    assert mark_spec_invalid(world.status, "still bad", generation=3, now=world.now)
    assert world.status.message == "still bad"


def test_the_conditions_name_the_error_left_after_one_of_two_is_fixed() -> None:
    world = World(make_spec())
    world.tick()
    # generation 2 has two errors; the first one is reported
    assert mark_spec_invalid(world.status, "spec.a: first error", generation=2, now=world.now)
    # generation 3 fixes it; the second one is reported everywhere, not the fixed one
    assert mark_spec_invalid(world.status, "spec.b: second error", generation=3, now=world.now)
    messages = {c.type: c.message for c in world.status.conditions}
    assert messages[ConditionType.SPEC_VALID] == "spec.b: second error"
    assert messages[ConditionType.PROGRESSING] == "spec.b: second error"
    assert world.status.message == "spec.b: second error"
    assert world.status.phase is Phase.FAILED
