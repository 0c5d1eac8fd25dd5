"""The rollout machine with the KServe backend, stepped against a toy KServe (`ToyKServe`, a
few lines of this test that play KServe's revision bookkeeping; not KServe), and which
revision the InferenceService describes along the way."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from llmops_operator.core.manifests.kserve import (
    HASH_ANNOTATION,
    build_kserve_intent,
    build_predictor_patch,
    build_revision_observations,
    read_state,
)
from llmops_operator.core.rollout.advance import advance
from llmops_operator.core.rollout.interface import Decision, Observations
from llmops_operator.core.spec.schema import ModelDeploymentSpec
from llmops_operator.core.state.phases import Phase
from llmops_operator.core.state.status import RolloutStatus
from tests.unit.operator.manifests.test_kserve import KSERVE_ROUTE, V1, isvc, status
from tests.unit.operator.sim import T0, make_spec, with_revision

# -- which revision the InferenceService describes ---------------------------------------


def test_should_describe_the_candidate_then_the_stable_and_keep_a_rejected_one() -> None:
    world = ToyKServe(kserve_spec())
    world.deploy_first()
    stable = world.status.stable_hash
    world.spec = with_revision(world.spec, "2")
    world.tick()  # revision 2 starts
    intent = build_kserve_intent(world.spec, world.status, world.last.traffic)
    assert intent is not None and intent.revision_hash == world.status.canary_hash
    # a rollback keeps the rejected revision described, at 0 % (KServe's documented rollback)
    world.tick(command="abort:1")
    world.tick()
    assert world.status.phase is Phase.ROLLED_BACK
    intent = build_kserve_intent(world.spec, world.status, world.last.traffic)
    assert intent is not None
    assert (intent.revision_hash, intent.percent) == (world.status.canary_hash, 0)
    # the spec goes back to revision 1: the stable is described again
    world.spec = with_revision(world.spec, "1")
    world.tick()
    intent = build_kserve_intent(world.spec, world.status, world.last.traffic)
    assert intent is not None and (intent.revision_hash, intent.percent) == (stable, 100)


def test_should_describe_nothing_before_a_revision_or_with_an_unknown_template() -> None:
    spec = kserve_spec()
    assert build_kserve_intent(spec, RolloutStatus(), ()) is None
    assert build_kserve_intent(spec, status(stable="0badf00d", canary=None), ()) is None


# -- the machine against a toy KServe ----------------------------------------------------


def kserve_spec(**overrides: Any) -> ModelDeploymentSpec:
    return make_spec(route=KSERVE_ROUTE, **overrides)


def user_isvc() -> dict[str, Any]:
    """The user's InferenceService, serving its own revision r0 (rolled out)."""
    return isvc({"model": {"storageUri": V1}}, created="r0", ready="r0", rolled_out="r0")


@dataclass
class ToyKServe:
    """Each tick runs as the operator does (observe, advance, patch the InferenceService);
    the test decides when KServe creates a revision (`create`) and when it is Ready (`ready`),
    and this class rolls a revision out at 100 %, as KServe's status does."""

    spec: ModelDeploymentSpec
    isvc: dict[str, Any] = field(default_factory=user_isvc)
    status: RolloutStatus = field(default_factory=RolloutStatus)
    now: datetime = T0
    revisions: int = 0
    pending: bool = False  # the predictor changed: KServe owes a new revision
    last: Decision = field(default_factory=lambda: Decision(RolloutStatus()))

    def tick(self, seconds: float = 1, command: str | None = None) -> Decision:
        self.now += timedelta(seconds=seconds)
        stable, canary = build_revision_observations(read_state(self.isvc), self.status)
        obs = Observations(stable=stable, canary=canary, command=command)
        self.last = advance(self.spec, self.status, obs, self.now)
        self.status = self.last.status
        intent = build_kserve_intent(self.spec, self.status, self.last.traffic)
        patch = build_predictor_patch(self.isvc, intent) if intent else None
        if patch is not None:
            predictor = self.isvc["spec"]["predictor"]
            changed = set(patch["spec"]["predictor"]) - {"canaryTrafficPercent"}
            for key, value in patch["spec"]["predictor"].items():
                merged = {**predictor.get(key, {}), **value} if isinstance(value, dict) else value
                predictor[key] = merged
            self.pending = self.pending or bool(changed)
        self._roll_out()
        return self.last

    def create(self) -> None:
        """KServe creates the revision the predictor now describes."""
        assert self.pending
        self.revisions += 1
        self.components()["latestCreatedRevision"] = f"r{self.revisions}"
        self.pending = False

    def ready(self) -> None:
        components = self.components()
        components["latestReadyRevision"] = components["latestCreatedRevision"]
        self._roll_out()

    def percent(self) -> int | None:
        value: int | None = self.isvc["spec"]["predictor"].get("canaryTrafficPercent")
        return value

    def deploy_first(self) -> None:
        self.tick()
        self.create()
        self.ready()
        self.tick()
        assert self.status.phase is Phase.SUCCEEDED, self.status.message

    def components(self) -> dict[str, Any]:
        components: dict[str, Any] = self.isvc["status"]["components"]["predictor"]
        return components

    def _roll_out(self) -> None:
        components = self.components()
        latest = components["latestReadyRevision"]
        if latest == components["latestCreatedRevision"] and self.percent() in (None, 100):
            components["latestRolledoutRevision"] = latest


def test_a_kserve_canary_runs_no_workloads_waits_for_kserve_and_ends_at_100() -> None:
    world = ToyKServe(kserve_spec())
    # tick 1: the first revision is written into the InferenceService; nothing of ours runs
    world.tick()
    assert world.last.workloads == ()
    assert world.isvc["spec"]["predictor"]["annotations"][HASH_ANNOTATION] == (
        world.status.canary_hash
    )
    # tick 2: KServe has not created it yet: the user's r0 keeps serving, we wait
    world.tick(5)
    assert world.status.phase is Phase.PENDING
    # tick 3: created and Ready: the first revision is stable, 100 %
    world.create()
    world.ready()
    world.tick()
    assert world.status.phase is Phase.SUCCEEDED and world.percent() == 100
    # tick 4: revision 2: its model is written at 0 %, KServe owes a revision
    world.spec = with_revision(world.spec, "2")
    world.tick()
    assert world.isvc["spec"]["predictor"]["model"]["storageUri"] == V1  # same model, new rev
    assert world.pending and world.percent() == 0
    # tick 5: created but loading: no step runs, the weight stays 0
    world.create()
    world.tick(5)
    assert world.status.message == "canary is loading its model"
    assert world.status.canary_ready_at is None
    # tick 6: Ready: the warm-up clock starts and step 1 sets 20 %
    world.ready()
    world.tick()
    assert world.status.canary_ready_at == world.now
    assert world.percent() == 20
    # ticks 7..: the pause, the analysis (no metrics here: promote skips), 50 %, promotion
    for _ in range(8):
        world.tick(31, command=f"promote:{world.now.timestamp()}")
        if world.status.phase is Phase.SUCCEEDED:
            break
    assert world.status.phase is Phase.SUCCEEDED
    assert world.status.stable_revision == "2"
    assert world.percent() == 100
    assert world.last.workloads == ()


def test_a_kserve_candidate_that_never_gets_ready_rolls_back_to_0_at_the_deadline() -> None:
    world = ToyKServe(kserve_spec())
    world.deploy_first()
    world.spec = with_revision(world.spec, "2")
    world.tick()
    world.create()  # created, never Ready
    world.tick(60 + 29)  # load budget 60 s + progress deadline 30 s, 1 s short
    assert world.status.phase is Phase.PROGRESSING
    world.tick(1)
    assert world.status.phase is Phase.ROLLING_BACK
    assert world.percent() == 0
    world.tick()
    assert world.status.phase is Phase.ROLLED_BACK
    assert world.percent() == 0
    # KServe's rolled-out revision (the stable's) took everything all along
    assert world.components()["latestRolledoutRevision"] == "r1"


def test_a_kserve_retry_reuses_the_rejected_revision_and_a_return_to_stable_waits() -> None:
    world = ToyKServe(kserve_spec())
    world.deploy_first()
    world.spec = with_revision(world.spec, "2")
    world.tick()
    world.create()
    world.ready()
    world.tick()
    assert world.percent() == 20
    # abort: 0 % at once, the rejected r2 stays KServe's latest (nothing rewritten)
    world.tick(command="abort:1")
    world.tick()
    assert world.status.phase is Phase.ROLLED_BACK and world.percent() == 0
    assert not world.pending
    # retry: r2 is still there and Ready, so step 1 runs on the next tick
    world.tick(command="retry:2")
    world.tick()
    assert world.percent() == 20
    # the spec returns to revision 1: its model is written back (r3 to come) and 0 % stays
    # while r2, the rejected one, is KServe's latest Ready revision
    world.spec = with_revision(world.spec, "1")
    world.tick()
    assert world.status.phase is Phase.SUCCEEDED
    assert world.pending and world.percent() == 0
    world.create()
    world.tick(30)
    assert world.percent() == 0
    # r3 is Ready: now it gets everything
    world.ready()
    world.tick(30)
    assert world.percent() == 100
