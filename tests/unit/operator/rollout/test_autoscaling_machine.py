"""Canary replicas next to autoscalers, stepped tick by tick: the operator moves each
revision's autoscaler bounds and never writes replicas an autoscaler owns."""

from __future__ import annotations

from typing import Any

from llmops_operator.core.rollout.interface import WorkloadIntent
from llmops_operator.core.state.phases import Phase
from tests.unit.operator.sim import World, deployed, make_spec, with_revision

STEPS: list[dict[str, Any]] = [
    {"setWeight": 25},
    {"pause": {}},
    {"setWeight": 50},
    {"pause": {}},
]


def autoscaled_world(**autoscaling: Any) -> World:
    spec = make_spec(
        engine={
            "replicas": 2,
            "loadBudgetSeconds": 60,
            "autoscaling": {"minReplicas": 2, "maxReplicas": 8, **autoscaling},
        },
        strategy={
            "canary": {
                "maxSurge": 2,
                "scaleDownDelaySeconds": 5,
                "abortScaleDownDelaySeconds": 0,
                "steps": STEPS,
            }
        },
    )
    return deployed(spec)


def intents(world: World) -> dict[str, WorkloadIntent]:
    assert world.last is not None
    return {w.revision_hash: w for w in world.last.workloads}


def writes_replicas(world: World) -> set[str]:
    return {h for h, w in intents(world).items() if w.write_replicas}


def test_canary_moves_autoscaler_bounds_and_never_writes_autoscaled_replicas() -> None:
    world = autoscaled_world()
    stable = world.status.stable_hash
    assert stable is not None
    assert world.bounds() == {stable: (2, 8)}
    # under load the stable's HPA has scaled it to 5: this number is the autoscaler's
    world.autoscale(stable, 5)
    # tick 1: revision 2 appears with its own autoscaler, pinned to one replica at weight 0
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    canary = world.status.canary_hash
    assert canary is not None
    assert world.bounds() == {stable: (2, 8), canary: (1, 1)}
    assert writes_replicas(world) == set()
    # tick 2: the canary is Ready: 25 % of traffic, so up to 25 % of maxReplicas (2)
    world.make_ready()
    world.tick(1)
    assert world.weights() == {"stable": 75, "canary": 25}
    assert world.bounds() == {stable: (2, 8), canary: (1, 2)}
    # tick 3: an indefinite pause; bounds hold
    world.tick(1)
    assert world.status.phase is Phase.PAUSED
    assert world.bounds() == {stable: (2, 8), canary: (1, 2)}
    # tick 4 and 5: promoted past the pause, 50 %: the canary may grow to 4
    world.tick(1, command="promote:1")
    world.tick(1)
    assert world.weights() == {"stable": 50, "canary": 50}
    assert world.bounds() == {stable: (2, 8), canary: (1, 4)}
    # tick 6 and 7: past the last pause: Promoting raises the canary's floor to what the
    # stable runs *now* (5, read from its Deployment), not to minReplicas (2)
    world.tick(1, command="promote:2")
    world.tick(1)
    assert world.status.phase is Phase.PROMOTING
    assert world.bounds() == {stable: (2, 8), canary: (5, 8)}
    # tick 8: only 1 replica Ready yet: the switch waits for 5
    world.tick(1)
    assert world.status.message == "canary scaling to 5 replicas"
    assert world.weights() == {"stable": 50, "canary": 50}
    # tick 9: the canary's HPA brought it to 5 Ready: the atomic switch
    world.make_ready()
    world.tick(1)
    assert world.status.phase is Phase.SUCCEEDED and world.status.stable_hash == canary
    # the old stable keeps its full bounds through the scale-down window (instant undo)
    assert world.bounds() == {canary: (2, 8), stable: (2, 8)}
    assert writes_replicas(world) == set()
    assert world.scale[stable] == 5  # never touched by the operator


def test_rolled_back_canary_loses_its_autoscaler_and_is_scaled_to_zero() -> None:
    world = autoscaled_world()
    stable = world.status.stable_hash
    assert stable is not None
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    canary = world.status.canary_hash
    assert canary is not None
    world.make_ready()
    world.tick(1)
    world.tick(1)
    # tick 1: abort at the pause: weight back to 0, the canary's bounds follow it
    world.tick(1, command="abort:1")
    assert world.status.phase is Phase.ROLLING_BACK
    assert world.bounds()[canary] == (1, 1)
    # tick 2: RolledBack: no autoscaler is left to fight, so the operator writes 0 replicas
    world.tick(1)
    assert world.status.phase is Phase.ROLLED_BACK
    assert world.bounds() == {stable: (2, 8), canary: None}
    assert writes_replicas(world) == {canary}
    assert intents(world)[canary].replicas == 0


def test_dynamic_stable_scale_lowers_the_stable_floor_with_its_traffic_share() -> None:
    world = autoscaled_world(minReplicas=4, dynamicStableScale=True)
    stable = world.status.stable_hash
    assert stable is not None
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    # tick 1: 25 % to the canary: the stable's floor is 75 % of 4 = 3; its ceiling stays 8
    world.tick(1)
    assert world.bounds()[stable] == (3, 8)
    # tick 2 and 3: 50 %: floor 2
    world.tick(1)
    world.tick(1, command="promote:1")
    world.tick(1)
    assert world.bounds()[stable] == (2, 8)


def test_a_foreign_hpa_on_the_stable_keeps_the_operator_off_its_replicas() -> None:
    world = deployed(make_spec())  # no spec.engine.autoscaling: the operator sizes revisions
    stable = world.status.stable_hash
    assert stable is not None
    # someone put their own HPA on the stable Deployment
    world.autoscaled = frozenset({stable})
    world.spec = with_revision(world.spec, "2")
    # every tick of the rollout: replicas are written for the canary only
    for _ in range(4):
        world.tick(1)
        world.make_ready()
        assert writes_replicas(world) == {world.status.canary_hash}
        assert world.bounds()[stable] is None  # and no second autoscaler is added to it


def test_retry_after_a_rollback_lifts_the_canary_from_zero_once() -> None:
    world = autoscaled_world()
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    canary = world.status.canary_hash
    assert canary is not None
    world.make_ready()
    world.tick(1)
    world.tick(1, command="abort:1")
    world.tick(1)
    world.make_ready()
    assert world.scale[canary] == 0
    # tick 1: retry: the canary gets its autoscaler back, but an HPA never scales up from 0,
    # so the operator writes the floor this once
    world.tick(1, command="retry:1")
    assert world.bounds()[canary] == (1, 1)
    assert canary in writes_replicas(world)
    # tick 2: it is up again: its replicas are the autoscaler's from now on
    world.make_ready()
    world.tick(1)
    assert canary not in writes_replicas(world)
