"""The canary state machine, stepped tick by tick (Flagger style: one comment per tick)."""

from __future__ import annotations

from datetime import timedelta

from llmops_operator.core.rollout.advance import plan_measurements
from llmops_operator.core.state.phases import Phase
from llmops_operator.core.state.status import RolloutStatus
from llmops_operator.views.status_text import build_undo_patch
from tests.unit.operator.sim import World, deployed, make_spec, with_revision


def reasons(world: World) -> list[str]:
    assert world.last is not None
    return [event.reason for event in world.last.events]


def test_canary_walks_every_step_to_succeeded() -> None:
    world = deployed(make_spec())
    old = world.status.stable_hash
    # tick 1: the spec asks for revision 2: a candidate appears, no traffic moves yet
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    assert world.status.phase is Phase.PROGRESSING
    assert reasons(world) == ["NewRevision"]
    assert world.weights() == {"stable": 100, "canary": 0}
    new = world.status.canary_hash
    assert new is not None and new != old
    assert world.replicas() == {old: 2, new: 1}
    # tick 2: the canary is still loading its model: wait, no step runs
    world.tick(5)
    assert world.status.message == "canary is loading its model"
    # tick 3: the canary is Ready: step 1 sets 20 %
    world.make_ready()
    world.tick(1)
    assert world.weights() == {"stable": 80, "canary": 20}
    assert world.status.current_step_index == 1
    # tick 4: step 2, a 30 s pause, starts
    world.tick(1)
    assert world.status.phase is Phase.PAUSED
    # tick 5: 28 s later it is still paused, and asks to come back when the pause ends
    world.tick(28)
    assert world.status.phase is Phase.PAUSED
    assert world.last is not None and world.last.requeue_after <= 2.0
    # tick 6: the pause is over: step 3, analysis
    world.tick(2)
    assert world.status.current_step_index == 2
    # tick 7: the first batch is due one interval after the step started
    world.tick(1)
    assert world.status.phase is Phase.ANALYZING
    assert world.status.analysis_runs == []
    # tick 8 and 9: two batches within the threshold: the gate passes
    world.tick(10)
    assert len(world.status.analysis_runs) == 1
    world.tick(10)
    assert world.status.current_step_index == 3
    assert "AnalysisPassed" in reasons(world)
    # tick 10: step 4 sets 50 %
    world.tick(1)
    assert world.weights() == {"stable": 50, "canary": 50}
    # tick 11: no steps left: Promoting scales the canary to full size
    world.tick(1)
    assert world.status.phase is Phase.PROMOTING
    assert world.replicas()[new] == 2
    # tick 12: full size and Ready: the switch; the old revision stays for the delay
    world.make_ready()
    world.tick(1)
    assert world.status.phase is Phase.SUCCEEDED
    assert world.status.stable_hash == new and world.status.canary_hash is None
    assert world.weights() == {"stable": 100}
    assert world.replicas() == {new: 2, old: 2}
    assert [h.result for h in world.status.history] == ["Promoted", "Promoted"]
    # tick 13: after the scale-down delay the old revision is gone
    world.tick(6)
    assert world.replicas() == {new: 2}


def test_failing_analysis_rolls_back_and_leaves_stable_untouched() -> None:
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)  # 20 %
    world.tick(1)  # pause starts
    world.tick(31)  # pause ends
    world.metric_value = 2.0  # TTFT p95 2 s, above the 0.5 s bound
    # tick: the first batch fails; failureLimit is 0: RollingBack, weight back to 0
    world.tick(11)
    assert world.status.phase is Phase.ROLLING_BACK
    assert world.weights() == {"stable": 100, "canary": 0}
    assert "ttft-p95" in world.status.message
    # tick: the weights are written; now RolledBack and the canary is scaled to 0
    world.tick(1)
    assert world.status.phase is Phase.ROLLED_BACK
    assert world.weights() == {"stable": 100}
    assert world.replicas()[world.status.canary_hash or ""] == 0
    assert world.status.history[-1].result == "RolledBack"
    # tick: RolledBack holds
    world.tick(60)
    assert world.status.phase is Phase.ROLLED_BACK
    # tick: retry restarts the steps from the first (the canary was scaled to 0)
    world.ready[world.status.canary_hash or ""] = 0
    world.metric_value = 0.1
    world.tick(1, command="retry:1")
    assert world.status.phase is Phase.PROGRESSING
    assert world.status.current_step_index == 0 and world.status.analysis_runs == []


def test_inconclusive_analysis_pauses_and_promote_skips_the_gate() -> None:
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)
    world.tick(1)
    world.tick(31)
    world.prometheus_up = False
    # tick: Prometheus unreachable is inconclusive, never a success: Paused
    world.tick(11)
    assert world.status.phase is Phase.PAUSED
    assert "unreachable" in world.status.message
    assert world.status.analysis_runs[-1].result == "Inconclusive"
    # tick: a person promotes: the gate is skipped, step 4 is next
    world.tick(1, command="promote:1")
    assert world.status.current_step_index == 3


def test_no_data_is_inconclusive_not_success_once_the_window_is_full() -> None:
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    for seconds in (1, 1, 31):
        world.tick(seconds)
    world.metric_value = None
    world.tick(11)
    # the window since warm-up (5m) is still filling: shown, not counted, measured again
    assert world.status.phase is not Phase.PAUSED
    first = world.status.analysis_runs[-1]
    assert not first.counted and first.message.startswith("window still filling (")
    world.tick(300)  # the window is full, still no data: a person decides
    assert world.status.phase is Phase.PAUSED
    assert world.status.current_step_index == 2
    assert world.status.analysis_runs[-1].counted


def test_warmup_is_excluded_from_analysis() -> None:
    spec = make_spec(
        strategy={
            "canary": {
                "warmupSeconds": 60,
                "steps": [
                    {"setWeight": 10},
                    {
                        "analysis": {
                            "interval": "10s",
                            "count": 1,
                            "maxErrorRate": 0.1,
                            "window": "5m",
                        }
                    },
                ],
            }
        }
    )
    world = deployed(spec)
    world.spec = with_revision(spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)  # Ready now: warm-up runs 60 s; 10 %
    ready_at = world.status.canary_ready_at
    world.tick(1)  # analysis step starts
    assert world.status.phase is Phase.ANALYZING
    # tick: 30 s into the warm-up: no batch, the reason says why
    world.tick(30)
    assert world.status.analysis_runs == []
    assert world.status.conditions[0].reason == "WarmingUp"
    # tick: 15 s after warm-up ended: one batch, and its window starts after the warm-up
    assert ready_at is not None
    world.now = ready_at + timedelta(seconds=75)
    world.metric_value = 0.01
    queries = plan_measurements(world.spec, world.status, "ns", "d", world.now)
    assert queries and "[15s]" in queries[0].promql
    world.tick(0)
    assert world.status.current_step_index == 2


def test_progress_deadline_counts_the_model_load_budget() -> None:
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    # tick: load budget 60 s + deadline 30 s: at 89 s the slow model is still allowed to load
    world.tick(89)
    assert world.status.phase is Phase.PROGRESSING
    # tick: at 90 s the deadline has passed: roll back, stable untouched
    world.tick(1)
    assert world.status.phase is Phase.ROLLING_BACK
    assert world.status.conditions[0].reason == "ProgressDeadlineExceeded"


def test_first_revision_that_never_loads_is_failed() -> None:
    world = World(make_spec())
    world.tick()
    assert world.status.phase is Phase.PENDING
    world.tick(91)
    assert world.status.phase is Phase.FAILED
    assert world.weights() == {}


def test_spec_change_mid_rollout_restarts_cleanly() -> None:
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)
    world.tick(1)  # paused at 20 %
    first = world.status.canary_hash
    # tick: revision 3 arrives: the candidate is dropped, steps restart, weight 0
    world.spec = with_revision(world.spec, "3")
    world.tick(1)
    assert "RolloutRestarted" in reasons(world)
    assert world.status.canary_hash != first and world.status.current_step_index == 0
    assert world.weights() == {"stable": 100, "canary": 0}
    assert first not in world.replicas()


def test_abort_promote_full_indefinite_pause_and_spec_paused() -> None:
    spec = make_spec(
        strategy={
            "canary": {"abortScaleDownDelaySeconds": 0, "steps": [{"setWeight": 10}, {"pause": {}}]}
        }
    )
    world = deployed(spec)
    world.spec = with_revision(spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)
    # tick: an indefinite pause waits for a person
    world.tick(1)
    world.tick(3600)
    assert world.status.phase is Phase.PAUSED
    # tick: spec.paused also pauses, with its own reason
    paused = spec.model_copy(update={"paused": True})
    world.spec = with_revision(paused, "2")
    world.tick(1)
    assert world.status.conditions[0].reason == "PausedByUser"
    world.spec = with_revision(spec, "2")
    # tick: promote --full skips every remaining step
    world.tick(1, command="promote-full:1")
    assert world.status.phase is Phase.PROMOTING
    # tick: abort while promoting: back to 0 %, stable serves
    world.tick(1, command="abort:1")
    assert world.status.phase is Phase.ROLLING_BACK
    assert world.status.last_command == "abort:1"
    # tick: the same annotation value is not a new command (the shell filters it)
    world.tick(1)
    assert world.status.phase is Phase.ROLLED_BACK


def test_a_restarted_operator_resumes_the_same_pause() -> None:
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)
    world.tick(1)  # pause of 30 s starts
    started = world.status.step_started_at
    # the operator dies; a new one reads the stored JSON back 20 s later
    world.status = RolloutStatus.from_raw(world.status.to_raw())
    world.tick(20)
    assert world.status.phase is Phase.PAUSED and world.status.step_started_at == started
    world.tick(10)
    assert world.status.current_step_index == 2


def _nulls(value: object, path: str = "") -> list[str]:
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [n for key, item in value.items() for n in _nulls(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [n for i, item in enumerate(value) for n in _nulls(item, f"{path}[{i}]")]
    return []


def test_history_templates_are_stored_without_nulls_and_undo_still_clears_fields() -> None:
    # A null inside a merge patch deletes the key, so a stored template holding nulls
    # never reads back as written (kopf logged "Merge-patching finished with
    # inconsistencies" on every promotion). Undo rebuilds the full template instead.
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1, command="promote-full:1")
    world.tick(1)
    world.make_ready()
    world.tick(1)
    assert world.status.phase is Phase.SUCCEEDED
    raw = world.status.to_raw()
    assert len(raw["history"]) == 2
    assert _nulls(raw["history"], "history") == []
    patch = build_undo_patch(RolloutStatus.from_raw(raw), None)
    assert patch["spec"]["route"]["rag"] is None  # still clears a RAG setting added since
    assert patch["spec"]["model"]["uri"] == raw["history"][0]["template"]["model"]["uri"]


def test_a_rolled_back_canary_keeps_serving_until_its_abort_delay_has_passed() -> None:
    """Weight 0 at once, pods only after abortScaleDownDelaySeconds: routers that have not
    yet seen the new weights still reach a live canary (no failed request)."""
    steps = [{"setWeight": 20}, {"pause": {}}]
    strategy = {"canary": {"abortScaleDownDelaySeconds": 45, "steps": steps}}
    world = deployed(make_spec(strategy=strategy))
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)
    world.tick(1, command="abort:1")
    canary = world.status.canary_hash or ""
    assert world.status.phase is Phase.ROLLING_BACK
    assert world.weights() == {"stable": 100, "canary": 0}
    world.tick(30)
    assert world.status.phase is Phase.ROLLING_BACK
    assert world.replicas()[canary] > 0
    assert world.last is not None and world.last.requeue_after <= 15
    world.tick(16)
    assert world.status.phase is Phase.ROLLED_BACK
    assert world.replicas()[canary] == 0


def test_a_candidate_that_loses_its_pods_late_gets_the_full_deadline_to_come_back() -> None:
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)  # 20 %
    world.tick(1)  # in the 30 s pause
    canary = world.status.canary_hash
    assert canary is not None and world.status.phase is Phase.PAUSED
    # tick: 200 s on (far past creation + load budget 60 s + deadline 30 s), its node is
    # lost: no rollback at once, the replacement pod gets the whole budget to load the model
    world.now += timedelta(seconds=200)
    world.ready[canary] = 0
    world.tick(0)
    assert world.status.phase is Phase.PROGRESSING
    assert world.status.conditions[0].reason == "WaitingForReady"
    assert world.weights() == {"stable": 80, "canary": 20}  # traffic waits as it was
    world.tick(89)
    assert world.status.phase is Phase.PROGRESSING
    # back within the deadline: the same rollout goes on (the pause had ended meanwhile)
    world.make_ready()
    world.tick(1)
    assert world.status.canary_hash == canary and world.status.phase is Phase.PROGRESSING
    assert world.status.current_step_index == 2
    # lost again, and this time not back within 90 s: rolled back, stable untouched
    world.ready[canary] = 0
    world.tick(1)
    world.tick(89)
    assert world.status.phase is Phase.PROGRESSING
    world.tick(1)
    assert world.status.phase is Phase.ROLLING_BACK
    assert world.status.conditions[0].reason == "ProgressDeadlineExceeded"
