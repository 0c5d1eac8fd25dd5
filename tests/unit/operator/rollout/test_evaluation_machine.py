"""The canary's ``evaluation`` step in the state machine: requested once against the pinned
canary, waited on, then passed (next step) or failed (rolled back, the reason naming the
thresholds missed); lost runs are asked for again; ``promote`` skips a running one."""

from __future__ import annotations

from typing import Any

from llmops_contracts.release import EvaluationRecord
from llmops_operator.core.registry.manifest import passed_evaluations
from llmops_operator.core.rollout.interface import LoadTestObservation
from llmops_operator.core.spec.schema import parse_spec
from llmops_operator.core.state.phases import ConditionType, Phase
from llmops_operator.core.state.status import LoadTestStatus, LoadTestVerdict, RolloutStatus
from llmops_operator.views.status_text import status_text
from tests.unit.operator.sim import T0, World, deployed, make_spec, with_revision

EVALUATION: dict[str, Any] = {
    "seed": 7,
    "rag": {"datasetConfigMap": "golden", "thresholds": {"tokenF1Min": 0.5, "hitRateMin": 0.8}},
}
STEPS: list[dict[str, Any]] = [{"setWeight": 10}, {"evaluation": EVALUATION}, {"setWeight": 50}]
FAILED = "FAIL: rag token_f1 0.12 < 0.5"


def at_the_gate() -> tuple[World, str]:
    """Revision 2's canary at 10 %, its evaluation just requested; the run's name."""
    world = deployed(make_spec(strategy={"canary": {"abortScaleDownDelaySeconds": 0,
                                                    "steps": STEPS}}))  # fmt: skip
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)  # setWeight 10
    decision = world.tick(1)  # the evaluation step
    request = decision.start_evaluation
    assert request is not None and decision.start_load_test is None
    assert request.role == "canary" and request.revision_hash == world.status.canary_hash
    assert request.name == f"ev-{world.status.canary_hash}-{started_stamp(world)}-s1"
    assert request.spec.seed == 7 and request.spec.rag is not None
    return world, request.name


def started_stamp(world: World) -> str:
    started = world.status.rollout_started_at
    assert started is not None
    return f"{started:%m%d%H%M%S}"


def reason_of(world: World) -> str:
    return next(c.reason for c in world.status.conditions if c.type == ConditionType.PROGRESSING)


def test_a_passing_evaluation_moves_on_and_its_verdict_and_link_stay_in_status() -> None:
    world, name = at_the_gate()
    assert world.status.phase is Phase.ANALYZING and reason_of(world) == "EvaluationRunning"
    world.evaluation = LoadTestObservation(name, LoadTestVerdict.RUNNING)
    assert world.tick(5).start_evaluation is None  # requested once, then waited on
    assert world.status.evaluation is not None and world.status.evaluation.step == 1
    report = "http://mlflow/#/experiments/3/runs/abc"
    world.evaluation = LoadTestObservation(name, LoadTestVerdict.PASSED, report, "PASS (2/2 ...)")
    world.tick(5)
    assert reason_of(world) == "EvaluationPassed"
    assert world.status.message == "step 2/3: evaluation passed"
    assert world.status.current_step_index == 2
    for _ in range(6):
        world.tick(1)
        world.make_ready()
    assert world.status.phase is Phase.SUCCEEDED and world.status.stable_revision == "2"
    # The gate that let the revision through is still there, with its report's link.
    assert world.status.evaluation.verdict is LoadTestVerdict.PASSED
    assert world.status.evaluation.report_url == report


def test_a_failed_evaluation_rolls_back_naming_the_step_and_the_thresholds_missed() -> None:
    world, name = at_the_gate()
    stable = world.status.stable_hash
    world.evaluation = LoadTestObservation(name, LoadTestVerdict.FAILED, "file:///r", FAILED)
    decision = world.tick(5)
    assert world.status.phase is Phase.ROLLING_BACK
    assert reason_of(world) == "EvaluationFailed"
    assert world.status.message == f"step 2/3: {FAILED}"
    assert world.weights() == {"stable": 100, "canary": 0}
    assert [e.reason for e in decision.events] == ["EvaluationFailed"]
    assert decision.events[0].warning
    world.tick(1)
    assert world.status.phase is Phase.ROLLED_BACK and world.status.stable_hash == stable
    assert reason_of(world) == "EvaluationFailed"
    assert world.status.evaluation is not None
    assert world.status.evaluation.message == FAILED


def test_a_run_lost_with_a_restarted_operator_is_asked_for_again_under_the_same_name() -> None:
    world, name = at_the_gate()
    world.evaluation = None  # the runner knows no such run (a new operator process)
    again = world.tick(5).start_evaluation
    assert again is not None and again.name == name


def test_promote_skips_a_running_evaluation() -> None:
    world, name = at_the_gate()
    world.evaluation = LoadTestObservation(name, LoadTestVerdict.RUNNING)
    world.tick(1, command="promote:1")
    assert reason_of(world) == "EvaluationSkipped"
    assert world.status.current_step_index == 2


def test_a_new_revision_forgets_the_old_candidates_evaluation() -> None:
    world, name = at_the_gate()
    world.evaluation = LoadTestObservation(name, LoadTestVerdict.FAILED, message=FAILED)
    world.tick(5)
    world.tick(1)
    assert world.status.phase is Phase.ROLLED_BACK
    world.spec = with_revision(world.spec, "3")
    world.tick(1)
    assert world.status.evaluation is None and world.status.canary_revision == "3"


def test_kubectl_llmops_status_shows_the_step_the_verdict_and_the_report() -> None:
    world, name = at_the_gate()
    world.evaluation = LoadTestObservation(name, LoadTestVerdict.FAILED, "file:///r.json", FAILED)
    world.tick(5)
    text = status_text("rag", world.spec, world.status)
    assert (
        "  ✘ 2: evaluation seed 7: rag golden/golden.yaml (hitRateMin 0.8, tokenF1Min 0.5)"
        in text.splitlines()
    )
    assert f"Evaluation: {name} Failed  {FAILED}" in text
    assert "  report: file:///r.json" in text


def test_blue_green_evaluates_the_preview_before_the_switch() -> None:
    raw = make_spec().model_dump(by_alias=True, exclude_none=True)
    raw["strategy"] = {"blueGreen": {"autoPromote": True, "abortScaleDownDelaySeconds": 0,
                                     "prePromotionEvaluation": EVALUATION}}  # fmt: skip
    world = deployed(parse_spec(raw))
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1)  # no analysis
    world.tick(1)  # no load test
    request = world.tick(1).start_evaluation
    assert request is not None and request.role == "preview"
    assert request.name == f"ev-{world.status.canary_hash}-{started_stamp(world)}-s2"
    assert world.status.step_display == "3/4"
    world.evaluation = LoadTestObservation(request.name, LoadTestVerdict.FAILED, message=FAILED)
    world.tick(5)
    assert world.status.phase is Phase.ROLLING_BACK
    assert world.status.message == f"prePromotionEvaluation: {FAILED}"
    assert world.weights() == {"stable": 100, "preview": 0}


def test_a_passed_runs_records_stay_in_status_for_the_release_manifest() -> None:
    world, name = at_the_gate()
    record = EvaluationRecord(
        kind="rag", dataset="configmap:golden/golden.yaml", dataset_version="v1",
        dataset_sha256="ab" * 32, seed=7, model="rag", top_k=2, max_tokens=6,
        metrics={"hit_rate": 1.0, "token_f1": 0.25}, passed=True,
    )  # fmt: skip
    world.evaluation = LoadTestObservation(
        name, LoadTestVerdict.PASSED, "file:///r", "PASS (2/2 ...)", (record,)
    )
    for _ in range(8):
        world.tick(5)
        world.make_ready()
    assert world.status.phase is Phase.SUCCEEDED and world.status.stable_revision == "2"
    assert passed_evaluations(world.status.evaluation) == [record]
    # Through the status subresource and back: camelCase on the wire, the same record.
    raw = world.status.to_raw()["evaluation"]["evaluations"][0]
    assert raw["datasetSha256"] == "ab" * 32 and raw["topK"] == 2
    assert RolloutStatus.model_validate(world.status.to_raw()).evaluation == world.status.evaluation


def test_a_failed_runs_records_are_no_release_evidence() -> None:
    run = LoadTestStatus(name="ev", step=1, started_at=T0, verdict=LoadTestVerdict.FAILED)
    assert passed_evaluations(run) == [] and passed_evaluations(None) == []
