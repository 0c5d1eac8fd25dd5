"""The KServe backend as pure data: KServe's status -> observations, and the predictor patch
(`llmops_operator.core.manifests.kserve`). The machine stepped against a toy KServe is in
`tests/unit/operator/rollout/test_kserve_machine.py`."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from llmops_operator.core.manifests.kserve import (
    AFTER_ANNOTATION,
    HASH_ANNOTATION,
    InferenceServiceError,
    KServeIntent,
    build_predictor_patch,
    build_revision_observations,
    read_state,
)
from llmops_operator.core.rollout.interface import RevisionObservation
from llmops_operator.core.state.status import RolloutStatus

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
