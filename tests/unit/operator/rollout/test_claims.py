"""Claims: one owner per traffic target (oldest wins), and how a loser freezes and resumes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from llmops_operator.core.rollout.claims import (
    ALIAS_CLAIMED,
    ALIAS_CONFLICT,
    NEVER,
    Claimant,
    LostClaim,
    Target,
    build_claimant,
    claimed_targets,
    clear_conflict,
    lost_claims,
    mark_conflict,
    owner_of,
)
from llmops_operator.core.state.phases import ConditionType, Phase
from llmops_operator.core.state.status import RolloutStatus
from tests.unit.operator.sim import T0, World, deployed, make_spec, with_revision

CHAT = Target("spec.route.alias", "chat")


def md(name: str, seconds: int = 0, *targets: Target, **kw: Any) -> Claimant:
    return Claimant("ns", name, T0 + timedelta(seconds=seconds), frozenset(targets or {CHAT}), **kw)


def condition(status: RolloutStatus, kind: ConditionType) -> tuple[str, str, str]:
    found = next(c for c in status.conditions if c.type == kind)
    return found.status, found.reason, found.message


def listed(name: str, created: str | None, **spec: Any) -> dict[str, Any]:
    """A ModelDeployment as the API server lists it."""
    raw = make_spec().model_dump(mode="json", by_alias=True, exclude_none=True)
    raw.update(spec)
    metadata: dict[str, Any] = {"name": name, "namespace": "ns"}
    if created is not None:
        metadata["creationTimestamp"] = created
    return {"metadata": metadata, "spec": raw}


def test_the_oldest_claimant_owns_the_target_and_the_name_breaks_ties() -> None:
    assert owner_of(CHAT, [md("b", 5), md("a", 9), md("c", 1)]) == md("c", 1)
    assert owner_of(CHAT, [md("b", 1), md("a", 1)]) == md("a", 1)
    assert owner_of(CHAT, [md("x", 0, Target("spec.route.alias", "other"))]) is None


def test_a_younger_claimant_loses_to_the_owner_and_the_owner_loses_nothing() -> None:
    owner, younger = md("chat-a", 0), md("chat-b", 3)
    # the namespace listing includes the asking ModelDeployment itself
    assert lost_claims(younger, [owner, younger]) == (LostClaim(CHAT, "chat-a"),)
    assert lost_claims(owner, [owner, younger]) == ()


def test_a_deleted_or_deleting_or_moved_owner_frees_the_target() -> None:
    younger = md("chat-b", 3)
    assert lost_claims(younger, [younger]) == ()
    assert lost_claims(younger, [md("chat-a", 0, deleting=True)]) == ()
    moved = md("chat-a", 0, Target("spec.route.alias", "chat-v2"))
    assert lost_claims(younger, [moved]) == ()


def test_only_the_same_target_in_the_same_namespace_conflicts() -> None:
    http_route = Target("spec.route.httpRoute", "chat")  # same name, another kind of target
    assert lost_claims(md("b", 3), [md("a", 0, http_route)]) == ()
    elsewhere = Claimant("other-ns", "a", T0, frozenset({CHAT}))
    assert lost_claims(md("b", 3), [elsewhere]) == ()


def test_each_router_claims_the_target_it_writes() -> None:
    assert claimed_targets(make_spec()) == {Target("spec.route.alias", "gemma")}  # model.name
    assert claimed_targets(make_spec(route={"alias": "chat"})) == {CHAT}
    http = make_spec(route={"router": "httpRoute", "httpRoute": "llm", "alias": "chat"})
    assert claimed_targets(http) == {Target("spec.route.httpRoute", "llm")}
    kserve = make_spec(route={"router": "kserve", "inferenceService": "llm"})
    assert claimed_targets(kserve) == {Target("spec.route.inferenceService", "llm")}


def test_listed_objects_become_claimants_and_a_broken_spec_claims_nothing() -> None:
    ok = build_claimant(listed("a", "2026-01-01T00:00:07Z", route={"alias": "chat"}))
    assert ok == Claimant("ns", "a", T0 + timedelta(seconds=7), frozenset({CHAT}))
    broken = build_claimant(listed("b", "2026-01-01T00:00:00Z", strategy={}))
    assert broken.targets == frozenset()
    deleting = listed("c", "2026-01-01T00:00:00Z")
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    assert build_claimant(deleting).deleting
    assert build_claimant(listed("d", None)).created == NEVER


def test_a_loser_is_paused_with_a_readable_message_and_warns_once() -> None:
    status = RolloutStatus()
    lost = (LostClaim(CHAT, "chat-a"),)
    # tick 1: the conflict is new: Paused, SpecValid=False, one Warning Event
    event = mark_conflict(status, lost, now=T0, generation=1)
    assert event is not None and event.warning and event.reason == ALIAS_CONFLICT
    assert status.phase is Phase.PAUSED
    assert "ModelDeployment 'chat-a'" in status.message
    assert "change spec.route.alias or delete chat-a" in status.message
    assert condition(status, ConditionType.SPEC_VALID) == ("False", ALIAS_CONFLICT, event.message)
    assert condition(status, ConditionType.PROGRESSING)[:2] == ("False", ALIAS_CONFLICT)
    assert condition(status, ConditionType.PAUSED)[:2] == ("True", ALIAS_CONFLICT)
    # tick 2, same conflict: no second Event, the transition time stays
    since = status.conditions[0].last_transition_time
    assert mark_conflict(status, lost, now=T0 + timedelta(seconds=5), generation=1) is None
    assert status.conditions[0].last_transition_time == since
    # tick 3: another owner (the first was deleted, an older third one remains): a new Event
    again = mark_conflict(status, (LostClaim(CHAT, "chat-0"),), now=T0, generation=1)
    assert again is not None and "chat-0" in again.message


def test_the_loser_takes_over_once_the_target_is_free_and_says_so_once() -> None:
    status = RolloutStatus()
    assert clear_conflict(status, {CHAT}, now=T0, generation=1) is None  # never in conflict
    mark_conflict(status, (LostClaim(CHAT, "chat-a"),), now=T0, generation=1)
    event = clear_conflict(status, {CHAT}, now=T0, generation=1)
    assert event is not None and not event.warning and event.reason == ALIAS_CLAIMED
    assert "spec.route.alias 'chat'" in event.message
    assert condition(status, ConditionType.SPEC_VALID)[:2] == ("True", "Valid")
    assert clear_conflict(status, {CHAT}, now=T0, generation=1) is None


def test_a_frozen_canary_resumes_its_step_after_the_conflict() -> None:
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)  # step 1: 20 %
    assert world.weights() == {"stable": 80, "canary": 20}
    step, started = world.status.current_step_index, world.status.step_started_at
    # ticks while in conflict: the machine does not run; the status says Paused
    mark_conflict(world.status, (LostClaim(CHAT, "chat-a"),), now=world.now, generation=1)
    assert world.status.phase is Phase.PAUSED
    assert world.status.current_step_index == step and world.status.step_started_at == started
    # first tick after: the machine takes it from the stored step (the 30 s pause starts)
    clear_conflict(world.status, {CHAT}, now=world.now, generation=1)
    world.tick(1)
    assert world.status.phase is Phase.PAUSED
    assert condition(world.status, ConditionType.PAUSED)[1] == "PauseStep"
    assert condition(world.status, ConditionType.PROGRESSING)[1] == "PauseStep"
    assert condition(world.status, ConditionType.SPEC_VALID)[:2] == ("True", "Valid")
    assert world.weights() == {"stable": 80, "canary": 20}


def test_a_rolled_back_rollout_keeps_its_phase_so_the_candidate_stays_rejected() -> None:
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)  # the candidate appears
    world.tick(1, command="abort:1")  # RollingBack
    world.tick(1)
    assert world.status.phase is Phase.ROLLED_BACK
    progressing = condition(world.status, ConditionType.PROGRESSING)
    mark_conflict(world.status, (LostClaim(CHAT, "chat-a"),), now=world.now, generation=1)
    assert world.status.phase is Phase.ROLLED_BACK
    assert condition(world.status, ConditionType.PROGRESSING) == progressing
    assert condition(world.status, ConditionType.SPEC_VALID)[1] == ALIAS_CONFLICT
    # after the conflict the rejected candidate is not retried by itself
    clear_conflict(world.status, {CHAT}, now=world.now, generation=1)
    world.tick(1)
    assert world.status.phase is Phase.ROLLED_BACK
    assert world.weights() == {"stable": 100}


def test_a_new_loser_starts_its_first_revision_after_the_conflict() -> None:
    world = World(make_spec())
    mark_conflict(world.status, (LostClaim(CHAT, "chat-a"),), now=world.now, generation=1)
    assert world.status.stable_hash is None and world.status.canary_hash is None
    clear_conflict(world.status, {CHAT}, now=world.now, generation=1)
    # first tick after: the first revision starts; the next, it is Ready and serves
    assert world.tick(1).status.phase is Phase.PENDING
    world.make_ready()
    assert world.tick(1).status.phase is Phase.SUCCEEDED
    assert world.weights() == {"stable": 100}
