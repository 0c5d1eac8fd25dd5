"""The blue-green state machine, tick by tick."""

from __future__ import annotations

from typing import Any

from llmops_operator.core.rollout.interface import LoadTestObservation
from llmops_operator.core.spec.schema import parse_spec
from llmops_operator.core.state.phases import Phase
from llmops_operator.core.state.status import LoadTestVerdict
from tests.unit.operator.sim import World, deployed, make_spec, with_revision


def bg_spec(**blue_green: Any) -> Any:
    raw = make_spec().model_dump(by_alias=True, exclude_none=True)
    raw["strategy"] = {
        "blueGreen": {"scaleDownDelaySeconds": 60, "abortScaleDownDelaySeconds": 0, **blue_green}
    }
    return parse_spec(raw)


def test_manual_promotion_switches_atomically_and_undo_inside_the_window_is_instant() -> None:
    spec = bg_spec()
    world = deployed(spec)
    blue = world.status.stable_hash
    # tick 1: revision 2 arrives as a full-size preview, reachable only through the pin
    world.spec = with_revision(spec, "2")
    world.tick(1)
    green = world.status.canary_hash
    assert green is not None and world.replicas() == {blue: 2, green: 2}
    assert world.weights() == {"stable": 100, "preview": 0}
    # tick 2 and 3: Ready; no gates configured; manual promotion: Paused, waiting for a person
    world.make_ready()
    world.tick(1)
    world.tick(1)
    world.tick(1)
    assert world.status.phase is Phase.PAUSED
    assert world.status.conditions[0].reason == "WaitingForPromotion"
    # tick 4: promote: Promoting for one tick (stored before traffic moves)
    world.tick(1, command="promote:1")
    assert world.status.phase is Phase.PROMOTING
    assert world.weights() == {"stable": 100, "preview": 0}
    # tick 5: the switch: all traffic to green in one write, blue kept for 60 s
    world.tick(1)
    assert world.status.phase is Phase.SUCCEEDED
    assert world.status.stable_hash == green
    assert world.weights() == {"stable": 100}
    assert world.replicas() == {green: 2, blue: 2}
    # tick 6: undo (spec back to revision 1) inside the window: blue is up, switch back now
    world.spec = spec
    world.tick(10)
    assert world.status.phase is Phase.SUCCEEDED
    assert world.status.stable_hash == blue
    assert world.status.conditions[0].reason == "FastRollback"
    assert world.replicas() == {blue: 2, green: 2}
    # tick 7: after the delay, green is scaled away
    world.tick(61)
    assert world.replicas() == {blue: 2}


def test_pre_promotion_analysis_failure_rolls_back_without_moving_traffic() -> None:
    spec = bg_spec(
        autoPromote=True,
        prePromotionAnalysis={"interval": "5s", "count": 2, "maxTtftP95Seconds": 0.5},
    )
    world = deployed(spec)
    world.spec = with_revision(spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)  # Ready: pre-promotion analysis starts
    assert world.status.phase is Phase.ANALYZING
    world.metric_value = 3.0
    # tick: the first batch fails: roll back; the stable never lost a request
    world.tick(5)
    assert world.status.phase is Phase.ROLLING_BACK
    assert world.weights() == {"stable": 100, "preview": 0}
    world.tick(1)
    assert world.status.phase is Phase.ROLLED_BACK


def test_auto_promotion_after_a_passing_load_test() -> None:
    spec = bg_spec(autoPromote=True, prePromotionLoadTest={"users": 2, "duration": "10s"})
    world = deployed(spec)
    world.spec = with_revision(spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)  # no analysis: step 1
    # tick: the load test is requested once, against the preview
    decision = world.tick(1)
    assert decision.start_load_test is not None
    assert decision.start_load_test.role == "preview"
    name = decision.start_load_test.name
    world.load_test = LoadTestObservation(name, LoadTestVerdict.RUNNING)
    assert world.tick(5).start_load_test is None
    # tick: passed: auto-promotion follows
    world.load_test = LoadTestObservation(name, LoadTestVerdict.PASSED, "http://r/1")
    world.tick(5)
    assert world.status.load_test is not None
    assert world.status.load_test.report_url == "http://r/1"
    world.tick(1)
    assert world.status.phase is Phase.PROMOTING
    world.tick(1)
    assert world.status.phase is Phase.SUCCEEDED


def failed_load_test(abort_delay_s: int = 0) -> tuple[World, str]:
    """Revision 2 rolled back by its failed load test; the failed run's name."""
    steps = [{"loadTest": {"users": 1, "duration": "5s"}}]
    spec = make_spec(strategy={"canary": {"abortScaleDownDelaySeconds": abort_delay_s,
                                          "steps": steps}})  # fmt: skip
    world = deployed(spec)
    world.spec = with_revision(spec, "2")
    world.tick(1)
    world.make_ready()
    decision = world.tick(1)
    assert decision.start_load_test is not None
    name = decision.start_load_test.name
    # what the Job runner reports for that name from now on: its verdict ConfigMap stays
    world.load_test = LoadTestObservation(name, LoadTestVerdict.FAILED, message="ttft p95 3s")
    world.tick(5)
    assert world.status.phase is Phase.ROLLING_BACK
    assert "ttft p95" in world.status.message
    world.tick(1)
    assert world.status.phase is Phase.ROLLED_BACK
    return world, name


def test_failed_load_test_rolls_back() -> None:
    world, _ = failed_load_test()
    assert world.status.stable_revision == "1" and world.weights() == {"stable": 100}


def test_a_retry_runs_the_load_test_again_instead_of_reading_the_failed_runs_verdict() -> None:
    world, failed = failed_load_test()
    world.tick(10, command="retry:1")
    world.make_ready()
    decision = world.tick(1)
    again = decision.start_load_test
    assert again is not None and again.name != failed
    assert world.status.phase is Phase.ANALYZING
    assert world.status.load_test is not None and world.status.load_test.name == again.name


def test_the_same_revision_after_a_return_to_stable_gets_a_run_of_its_own() -> None:
    world, failed = failed_load_test()
    revision_2 = world.spec
    world.spec = with_revision(revision_2, "1")
    world.tick(5)
    assert world.status.phase is Phase.SUCCEEDED
    world.spec = revision_2
    world.tick(5)
    world.make_ready()
    again = world.tick(1).start_load_test
    assert again is not None and again.name != failed
    assert world.status.phase is Phase.ANALYZING


def test_scaling_replicas_is_not_a_new_revision() -> None:
    world: World = deployed(make_spec())
    raw = world.spec.model_dump(by_alias=True, exclude_none=True)
    raw["engine"]["replicas"] = 5
    world.spec = parse_spec(raw)
    world.tick(1)
    assert world.status.canary_hash is None
    assert list(world.replicas().values()) == [5]
