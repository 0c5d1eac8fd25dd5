"""The KServe backend as pure data: KServe's status -> observations, the predictor patch,
and the machine stepped against a toy KServe (`ToyKServe`, a few lines of this test that
play KServe's revision bookkeeping; not KServe)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from llmops_operator.core.manifests.kserve import (
    AFTER_ANNOTATION,
    HASH_ANNOTATION,
    InferenceServiceError,
    KServeIntent,
    build_kserve_intent,
    build_predictor_patch,
    build_revision_observations,
    read_state,
)
from llmops_operator.core.rollout.advance import advance
from llmops_operator.core.rollout.interface import Decision, Observations, RevisionObservation
from llmops_operator.core.spec.schema import ModelDeploymentSpec
from llmops_operator.core.state.phases import Phase
from llmops_operator.core.state.status import RolloutStatus
from tests.unit.operator.sim import T0, make_spec, with_revision

KSERVE_ROUTE = {"router": "kserve", "inferenceService": "llm"}
V1 = "hf://google/gemma-3-270m"
V2 = "hf://google/gemma-3-1b-it"


def isvc(
    predictor: dict[str, Any] | None = None,
    *,
    described: str | None = None,
    after: str = "",
    created: str = "",
    ready: str = "",
    rolled_out: str = "",
    predictor_ready: bool = True,
) -> dict[str, Any]:
    pred = copy.deepcopy(predictor or {"model": {"modelFormat": {"name": "huggingface"}}})
    if described is not None:
        pred["annotations"] = {HASH_ANNOTATION: described, AFTER_ANNOTATION: after}
    condition = {"type": "PredictorReady", "status": "True" if predictor_ready else "False"}
    components = {
        "latestCreatedRevision": created,
        "latestReadyRevision": ready,
        "latestRolledoutRevision": rolled_out,
    }
    return {
        "metadata": {"name": "llm", "resourceVersion": "7"},
        "spec": {"predictor": pred},
        "status": {"components": {"predictor": components}, "conditions": [condition]},
    }


def status(stable: str | None = "s1", canary: str | None = "c2") -> RolloutStatus:
    return RolloutStatus(stable_hash=stable, canary_hash=canary)


# -- KServe's status -> the machine's observations ---------------------------------------


@pytest.mark.parametrize(
    ("world", "candidate"),
    [
        # the operator has not written the candidate yet (it does so the tick it starts)
        (isvc(described="s1", after="r0", created="r1", ready="r1", rolled_out="r1"),
         RevisionObservation(exists=False, ready=False)),
        # written, but KServe has not created its revision yet: r1 is still the latest
        (isvc(described="c2", after="r1", created="r1", ready="r1", rolled_out="r1"),
         RevisionObservation(exists=False, ready=False)),
        # created, loading its model
        (isvc(described="c2", after="r1", created="r2", ready="r1", rolled_out="r1"),
         RevisionObservation(exists=True, ready=False)),
        # the revision is Ready but the predictor is not (its route is not ready yet)
        (isvc(described="c2", after="r1", created="r2", ready="r2", rolled_out="r1",
              predictor_ready=False),
         RevisionObservation(exists=True, ready=False)),
        # Ready
        (isvc(described="c2", after="r1", created="r2", ready="r2", rolled_out="r1"),
         RevisionObservation(exists=True, ready=True)),
        # the user changed the predictor meanwhile: KServe's newest revision still runs ours
        (isvc(described="c2", after="r1", created="r3", ready="r3", rolled_out="r1"),
         RevisionObservation(exists=True, ready=True)),
        # the InferenceService is missing
        (None, RevisionObservation(exists=False, ready=False)),
    ],
)  # fmt: skip
def test_should_judge_the_candidate_by_kserves_latest_revision_once_it_describes_it(
    world: dict[str, Any] | None, candidate: RevisionObservation
) -> None:
    _, seen = build_revision_observations(read_state(world), status())
    assert seen == candidate


def test_should_see_the_stable_serving_from_kserves_rolled_out_revision() -> None:
    # a candidate is described: the stable is the rolled-out revision KServe sends the rest to
    world = isvc(described="c2", after="r1", created="r2", ready="r1", rolled_out="r1")
    stable, _ = build_revision_observations(read_state(world), status())
    assert stable == RevisionObservation(exists=True, ready=True)
    # the first revision: nothing rolled out yet, nothing stable
    stable, candidate = build_revision_observations(
        read_state(isvc(described="c2", created="r1", ready="r1")), status(stable=None)
    )
    assert stable is None
    assert candidate == RevisionObservation(exists=True, ready=True)


# -- what the operator writes into the predictor -----------------------------------------


def test_should_write_the_candidates_uri_hash_and_percent_in_one_patch() -> None:
    world = isvc(
        {"model": {"modelFormat": {"name": "huggingface"}, "storageUri": V1}},
        described="s1",
        after="r0",
        created="r1",
        ready="r1",
        rolled_out="r1",
    )
    patch = build_predictor_patch(world, KServeIntent("c2", V2, 0))
    assert patch == {
        "spec": {
            "predictor": {
                "model": {"storageUri": V2},  # a merge patch: modelFormat stays the user's
                "annotations": {HASH_ANNOTATION: "c2", AFTER_ANNOTATION: "r1"},
                "canaryTrafficPercent": 0,
            }
        }
    }


def test_should_write_nothing_when_the_predictor_already_says_so() -> None:
    predictor = {"model": {"storageUri": V2}, "canaryTrafficPercent": 20}
    world = isvc(predictor, described="c2", after="r1", created="r2", ready="r2", rolled_out="r1")
    assert build_predictor_patch(world, KServeIntent("c2", V2, 20)) is None
    assert build_predictor_patch(world, KServeIntent("c2", V2, 50)) == {
        "spec": {"predictor": {"canaryTrafficPercent": 50}}
    }


def test_should_point_the_charts_kserve_container_at_the_uri_through_storage_uri_env() -> None:
    sidecar = {"name": "proxy", "image": "envoy"}
    engine = {
        "name": "kserve-container",
        "args": ["--model=/mnt/models"],
        "env": [{"name": "HOME", "value": "/home/vllm"}, {"name": "STORAGE_URI", "value": V1}],
    }
    world = isvc({"containers": [engine, sidecar]}, described="s1", created="r1", ready="r1")
    patch = build_predictor_patch(world, KServeIntent("c2", V2, 0))
    assert patch is not None
    containers = patch["spec"]["predictor"]["containers"]
    # the whole list goes back (a merge patch replaces lists), only STORAGE_URI changed
    assert containers == [
        {**engine, "env": [engine["env"][0], {"name": "STORAGE_URI", "value": V2}]},
        sidecar,
    ]
    assert world["spec"]["predictor"]["containers"][0] == engine  # the read object is untouched


def test_should_use_a_framework_predictors_storage_uri() -> None:
    world = isvc({"huggingface": {"storageUri": V1, "args": ["--dtype=auto"]}})
    patch = build_predictor_patch(world, KServeIntent("c2", V2, 100))
    assert patch is not None
    assert patch["spec"]["predictor"]["huggingface"] == {"storageUri": V2}


def test_should_refuse_a_predictor_without_a_place_for_the_model() -> None:
    world = isvc({"containers": [{"name": "server"}, {"name": "proxy"}]})
    with pytest.raises(InferenceServiceError, match="kserve-container"):
        build_predictor_patch(world, KServeIntent("c2", V2, 100))


def test_should_refuse_an_inference_service_in_raw_deployment_mode() -> None:
    world = isvc()
    world["metadata"]["annotations"] = {"serving.kserve.io/deploymentMode": "RawDeployment"}
    with pytest.raises(InferenceServiceError, match="Serverless"):
        build_predictor_patch(world, KServeIntent("c2", V2, 100))


@pytest.mark.parametrize(
    ("world", "intent", "percent"),
    [
        # a rejected candidate (r2) is KServe's latest Ready revision; the stable's model is
        # written back (r3 to come): "latest" would mean r2 until r3 is Ready, so 0 % for now
        (isvc({"model": {"storageUri": V2}}, described="c2", after="r1", created="r2",
              ready="r2", rolled_out="r1"),
         KServeIntent("s1", V1, 100), 0),
        # ...and 100 % once r3 is Ready
        (isvc({"model": {"storageUri": V1}}, described="s1", after="r2", created="r3",
              ready="r3", rolled_out="r1"),
         KServeIntent("s1", V1, 100), 100),
        # a first revision while the user's rolled-out r0 serves: "latest" stays r0 until
        # ours is Ready (Knative's own rollout), so the share is written at once
        (isvc({"model": {"storageUri": V1}, "canaryTrafficPercent": 0}, created="r0",
              ready="r0", rolled_out="r0"),
         KServeIntent("s1", V1, 100), 100),
        # a rollback: 0 % whatever KServe's state
        (isvc({"model": {"storageUri": V2}}, described="c2", after="r1", created="r2",
              ready="r2", rolled_out="r1"),
         KServeIntent("c2", V2, 0), 0),
    ],
)  # fmt: skip
def test_should_never_send_the_latest_share_to_a_revision_kserve_has_not_rolled_out(
    world: dict[str, Any], intent: KServeIntent, percent: int
) -> None:
    patch = build_predictor_patch(world, intent)
    predictor = {**world["spec"]["predictor"], **(patch or {}).get("spec", {}).get("predictor", {})}
    assert predictor["canaryTrafficPercent"] == percent


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
