"""``status.timeline``: what the machine records while it steps a rollout (pure, tick by tick)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from llmops_operator.core.state.phases import Phase
from llmops_operator.core.state.status import MAX_TIMELINE, RolloutStatus, TimelineEntry
from llmops_operator.core.state.timeline import append_entry, rollouts
from tests.unit.operator.sim import T0, World, deployed, make_spec, with_revision

CRD = Path(__file__).parents[3] / "charts/llmops-operator/crds/modeldeployments.llmops.dev.yaml"

Row = tuple[str, Phase, int | None, int]


def rows(world: World) -> list[Row]:
    """(reason, phase, step, weight) of the latest rollout's entries."""
    latest = rollouts(world.status.timeline)[-1]
    return [(e.reason, e.phase, e.step, e.canary_weight) for e in latest.entries]


def walk_canary_to_succeeded(world: World, revision: str = "2") -> None:
    """The sim spec's canary: 20 %, a 30 s pause, a two-batch analysis, 50 %, promotion."""
    world.spec = with_revision(world.spec, revision)
    world.tick(1)  # candidate appears
    world.tick(5)  # still loading its model
    world.make_ready()
    world.tick(1)  # 20 %
    world.tick(1)  # pause starts
    world.tick(30)  # pause over
    world.tick(1)  # analysis starts
    world.tick(10)  # first batch
    world.tick(10)  # second batch: passed
    world.tick(1)  # 50 %
    world.tick(1)  # all steps done: promoting
    world.make_ready()
    world.tick(1)  # the switch
    world.tick(1)  # stable
    assert world.status.phase is Phase.SUCCEEDED, world.status.message


def test_should_record_every_phase_step_and_weight_change_of_a_canary_in_order() -> None:
    world = deployed(make_spec())
    walk_canary_to_succeeded(world)
    assert rows(world) == [
        ("NewRevision", Phase.PROGRESSING, 0, 0),
        ("WaitingForReady", Phase.PROGRESSING, 0, 0),
        ("WeightSet", Phase.PROGRESSING, 0, 20),
        ("PauseStep", Phase.PAUSED, 1, 20),
        ("PauseEnded", Phase.PROGRESSING, 1, 20),
        ("AnalysisRunning", Phase.ANALYZING, 2, 20),
        ("AnalysisPassed", Phase.PROGRESSING, 2, 20),
        ("WeightSet", Phase.PROGRESSING, 3, 50),
        ("AllStepsDone", Phase.PROMOTING, None, 50),  # past the steps: none is shown
        # the switch: the new revision is the stable, with all the traffic
        ("Promoted", Phase.SUCCEEDED, None, 100),
        ("Stable", Phase.SUCCEEDED, None, 100),
    ]
    latest = rollouts(world.status.timeline)[-1]
    assert [e.rollout_start for e in latest.entries] == [True] + [False] * 10
    assert all(e.revision == "2" for e in latest.entries)
    # seconds since the rollout started: the clock the views show
    assert [latest.seconds(e) for e in latest.entries] == [
        0, 5, 6, 7, 37, 38, 58, 59, 60, 61, 62,
    ]  # fmt: skip
    assert latest.entries[3].message.startswith("step 2/4: paused until")
    # the first revision is a rollout of its own, kept before this one
    first = rollouts(world.status.timeline)[0]
    assert [(e.reason, e.canary_weight, e.revision) for e in first.entries] == [
        ("FirstRevision", 0, "1"),
        ("FirstRevisionReady", 100, "1"),
    ]


def test_should_record_a_weight_change_that_no_transition_marks() -> None:
    world = deployed(
        make_spec(
            strategy={
                "canary": {"steps": [{"setWeight": 10}, {"setWeight": 30}, {"setWeight": 60}]}
            }
        )
    )
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    events = [[event.reason for event in world.tick(1).events] for _ in range(3)]
    # only the first setWeight changes the reason: one Event, yet three entries
    assert events == [["WeightSet"], [], []]
    assert rows(world)[1:] == [
        ("WeightSet", Phase.PROGRESSING, 0, 10),
        ("WeightSet", Phase.PROGRESSING, 1, 30),
        ("WeightSet", Phase.PROGRESSING, 2, 60),
    ]


def test_should_end_a_failed_analysis_at_zero_weight_rolled_back() -> None:
    world = deployed(make_spec())
    world.metric_value = 2.0  # far above the 0.5 s TTFT bound
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    for seconds in (1, 1, 30, 1, 10, 1):
        world.tick(seconds)
    assert world.status.phase is Phase.ROLLED_BACK
    assert rows(world)[-3:] == [
        ("AnalysisRunning", Phase.ANALYZING, 2, 20),
        ("AnalysisFailed", Phase.ROLLING_BACK, 2, 0),
        ("AnalysisFailed", Phase.ROLLED_BACK, 2, 0),
    ]
    assert rollouts(world.status.timeline)[-1].entries[-1].warning


def test_should_close_an_interrupted_rollout_and_open_a_new_one() -> None:
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)  # 20 %
    # tick: the spec asks for revision 3 mid-rollout
    world.spec = with_revision(world.spec, "3")
    world.tick(1)
    found = rollouts(world.status.timeline)
    assert [r.revision for r in found] == ["1", "2", "3"]
    interrupted = found[1].entries[-1]
    assert (interrupted.reason, interrupted.canary_weight, interrupted.warning) == (
        "RolloutRestarted",
        20,
        True,
    )
    assert rows(world) == [("NewRevision", Phase.PROGRESSING, 0, 0)]


def test_should_show_a_candidate_dropped_for_the_stable_at_zero_not_at_full_weight() -> None:
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)  # 20 %
    world.spec = with_revision(world.spec, "1")  # back to the stable revision
    world.tick(1)
    assert rows(world)[-1] == ("Stable", Phase.SUCCEEDED, None, 0)


def test_should_continue_the_same_timeline_after_an_operator_restart() -> None:
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)
    world.tick(1)  # pause starts
    before = list(world.status.timeline)
    # the operator dies; a new one reads the stored JSON back and ticks on
    world.status = RolloutStatus.from_raw(json.loads(json.dumps(world.status.to_raw())))
    world.tick(5)  # still paused: nothing new to record
    assert world.status.timeline == before
    world.tick(30)
    assert world.status.timeline[: len(before)] == before
    assert world.status.timeline[len(before)].reason == "PauseEnded"


def test_should_round_trip_through_the_stored_json_in_camel_case() -> None:
    world = deployed(make_spec())
    walk_canary_to_succeeded(world)
    raw = json.loads(json.dumps(world.status.to_raw()))
    entry = raw["timeline"][4]  # after the first revision's two
    assert entry == {
        "at": "2026-01-01T00:00:07Z",
        "phase": "Progressing",
        "step": 0,
        "canaryWeight": 20,
        "reason": "WeightSet",
        "message": "step 1/4: canary weight 20%",
        "revision": "2",
        "rolloutStart": False,
        "warning": False,
    }
    assert RolloutStatus.from_raw(raw).timeline == world.status.timeline


def test_should_match_the_crds_status_schema() -> None:
    world = deployed(make_spec())
    walk_canary_to_succeeded(world)
    crd = yaml.safe_load(CRD.read_text())
    status_schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
    schema: dict[str, Any] = status_schema["properties"]["timeline"]
    stored = world.status.to_raw()["timeline"]
    jsonschema.validate(stored, schema)
    # every field the model writes is declared (a structural schema prunes unknown fields)
    assert set(schema["items"]["properties"]) == {key for entry in stored for key in entry}


def entry(seconds: int, *, start: bool = False, reason: str = "WeightSet") -> TimelineEntry:
    return TimelineEntry(
        at=T0 + timedelta(seconds=seconds),
        phase=Phase.PROGRESSING,
        reason=reason,
        rollout_start=start,
    )


def test_should_keep_earlier_rollouts_until_the_cap_then_drop_the_oldest() -> None:
    world = deployed(make_spec())
    for revision in range(2, 9):
        walk_canary_to_succeeded(world, str(revision))
    timeline = world.status.timeline
    assert len(timeline) == MAX_TIMELINE
    found = rollouts(timeline)
    # 2 + 7 x 11 entries were recorded: the oldest went first; the latest rollout is whole
    assert found[-1].revision == "8" and found[-1].is_complete
    assert len(found[-1].entries) == 11
    assert not found[0].is_complete  # what is left of an older one says so


def test_should_never_drop_the_entry_that_opens_the_latest_rollout() -> None:
    timeline = [entry(0, start=True, reason="NewRevision")]
    for seconds in range(1, MAX_TIMELINE + 10):
        timeline = append_entry(timeline, entry(seconds))
    assert len(timeline) == MAX_TIMELINE
    assert timeline[0].reason == "NewRevision" and timeline[0].rollout_start
    # its clock still starts at 0; the oldest entries after it went
    assert [(e.at - timeline[0].at).total_seconds() for e in timeline[1:3]] == [11, 12]
    assert timeline[-1].at == entry(MAX_TIMELINE + 9).at
