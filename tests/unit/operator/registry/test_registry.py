"""MLflow references pinned once, engine tags merged, and the release built (pure)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from llmops_operator.core.registry.resolution import (
    UNRESOLVABLE,
    ModelResolution,
    RegisteredVersion,
    build_effective_spec,
    build_release,
    build_resolution,
    build_rollback,
    is_resolved,
    merge_release_note,
    release_recorded,
    release_retry,
    should_record_release,
    should_record_rollback,
    tracking_uri_of,
    unresolvable_message,
)
from llmops_operator.core.rollout.advance import advance
from llmops_operator.core.rollout.interface import Observations
from llmops_operator.core.spec.schema import (
    MlflowRef,
    ModelDeploymentSpec,
    SpecError,
    template_hash,
)
from llmops_operator.core.spec.schema import template_of as template_of_spec
from llmops_operator.core.state.phases import ConditionType, Phase, set_condition
from llmops_operator.core.state.status import (
    AnalysisRun,
    LoadTestStatus,
    MeasurementResult,
    RolloutStatus,
)
from llmops_operator.core.state.status import LoadTestVerdict as Verdict
from tests.unit.operator.sim import T0, World, make_spec

TRACKING = "http://mlflow:5000"
REF = MlflowRef(name="gemma", alias="champion")


def _version(version: str = "3", **tags: str) -> RegisteredVersion:
    return RegisteredVersion("gemma", version, "s3://models/gemma-3-270m", dict(tags))


def _mlflow_spec(**engine: object) -> ModelDeploymentSpec:
    return make_spec(
        model={"name": "gemma", "mlflow": {"name": "gemma", "alias": "champion"}},
        engine={"replicas": 2, "loadBudgetSeconds": 60, **engine},
    )


def _resolution(found: RegisteredVersion | None = None) -> ModelResolution:
    return build_resolution(REF, TRACKING, found or _version(), T0)


def test_an_alias_pins_the_version_and_its_source_becomes_the_model_uri() -> None:
    resolution = _resolution()
    assert (resolution.ref, resolution.version) == ("models:/gemma@champion", "3")
    assert resolution.uri == "s3://models/gemma-3-270m"
    assert is_resolved(resolution, REF, TRACKING)


def test_a_changed_reference_or_registry_is_resolved_again() -> None:
    resolution = _resolution()
    assert not is_resolved(resolution, MlflowRef(name="gemma", version="3"), TRACKING)
    assert not is_resolved(resolution, REF, "http://other:5000")


def test_the_uri_tag_wins_over_a_source_the_engine_cannot_load() -> None:
    found = RegisteredVersion("gemma", "3", "runs:/abc/model", {"llmops.model.uri": "pvc://m/g"})
    assert _resolution(found).uri == "pvc://m/g"


def test_a_source_the_engine_cannot_load_fails_naming_the_tag_to_set() -> None:
    found = RegisteredVersion("gemma", "3", "mlflow-artifacts:/1/abc/artifacts/model")
    with pytest.raises(SpecError, match=r"gemma/3 has source .* tag the version llmops.model.uri"):
        _resolution(found)


def test_an_unknown_engine_tag_is_named_instead_of_ignored() -> None:
    with pytest.raises(SpecError, match=r"tag llmops\.engine\.maxTokens is not an engine setting"):
        _resolution(_version(**{"llmops.engine.maxTokens": "10"}))


def test_a_bad_engine_tag_value_fails_at_resolution_naming_the_tag() -> None:
    with pytest.raises(SpecError, match=r"tag llmops\.engine\.maxModelLen"):
        _resolution(_version(**{"llmops.engine.maxModelLen": "eight"}))


def test_a_reference_without_any_tracking_uri_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="LLMOPS_OPERATOR_MLFLOW_TRACKING_URI"):
        tracking_uri_of(REF, "")
    assert tracking_uri_of(REF, TRACKING + "/") == TRACKING


def test_a_settled_answer_is_kept_for_its_generation_only() -> None:
    status = RolloutStatus(
        conditions=set_condition(
            [], ConditionType.MODEL_RESOLVED, False, reason=UNRESOLVABLE,
            message="spec.model.mlflow: alias nope not found", now=T0, generation=3,
        )
    )  # fmt: skip
    assert unresolvable_message(status, 3) == "spec.model.mlflow: alias nope not found"
    assert unresolvable_message(status, 4) is None
    unreachable = RolloutStatus(
        conditions=set_condition(
            [], ConditionType.MODEL_RESOLVED, False, reason="RegistryUnreachable",
            message="down", now=T0, generation=3,
        )
    )  # fmt: skip
    assert unresolvable_message(unreachable, 3) is None


def test_engine_tags_fill_defaults_and_the_spec_always_wins() -> None:
    tags = {
        "llmops.engine.maxModelLen": "2048",
        "llmops.engine.dtype": "float32",
        "llmops.engine.extraArgs": "--enforce-eager --seed 7",
    }
    resolution = _resolution(_version(**tags))
    effective = build_effective_spec(_mlflow_spec(dtype="half"), resolution)
    assert effective.engine.max_model_len == 2048  # left unset in the spec: the tag fills it
    assert effective.engine.dtype == "half"  # set in the spec: the spec wins
    assert effective.engine.extra_args == ("--enforce-eager", "--seed", "7")
    assert effective.engine.replicas == 2


def test_the_effective_spec_carries_the_uri_and_is_labelled_with_the_version() -> None:
    effective = build_effective_spec(_mlflow_spec(), _resolution())
    assert effective.model.uri == "s3://models/gemma-3-270m"
    assert effective.model.mlflow is None
    assert template_of_spec(effective).label == "3"


def test_the_revision_identity_is_stable_across_ticks_and_moves_with_the_version() -> None:
    spec = _mlflow_spec()
    first = template_hash(template_of_spec(build_effective_spec(spec, _resolution())))
    again = template_hash(template_of_spec(build_effective_spec(spec, _resolution())))
    other = template_hash(template_of_spec(build_effective_spec(spec, _resolution(_version("4")))))
    assert first == again != other


def test_the_release_is_recorded_once_when_the_pinned_revision_becomes_stable() -> None:
    resolution = _resolution()
    spec = build_effective_spec(_mlflow_spec(), resolution)
    desired = template_hash(template_of_spec(spec))
    world = World(spec)
    # tick 1: the first revision is starting: nothing to release yet
    world.tick()
    assert not should_record_release(resolution, world.status, desired, world.now)
    # tick 2: Ready: it is stable (Succeeded): the release is due
    world.make_ready()
    before = world.status
    world.tick(1)
    assert world.status.phase is Phase.SUCCEEDED
    assert should_record_release(resolution, world.status, desired, world.now)
    release = build_release(
        resolution, before, desired_hash=desired, deployment="ns/gemma", alias="production",
        now=world.now,
    )  # fmt: skip
    assert release.version == "3" and release.alias == "production"
    assert release.tags["llmops.release.modeldeployment"] == "ns/gemma"
    # MLflow was down: asked again only after the back-off
    pending = resolution.model_copy(update={"release": release_retry(release, world.now, 30)})
    assert not should_record_release(pending, world.status, desired, world.now)
    later = world.now + timedelta(seconds=31)
    assert should_record_release(pending, world.status, desired, later)
    # recorded: never again for this revision
    done = resolution.model_copy(update={"release": release_recorded(release, later)})
    assert not should_record_release(done, world.status, desired, later)


def test_no_release_for_a_spec_without_a_registry_reference_or_a_rolled_back_one() -> None:
    world = World(make_spec())
    world.tick()
    assert not should_record_release(None, world.status, "abcd1234", T0)
    rolled_back = world.status.model_copy(update={"phase": Phase.ROLLED_BACK})
    assert not should_record_release(_resolution(), rolled_back, "abcd1234", T0)


def test_the_release_names_the_analysis_and_the_load_test_with_its_report() -> None:
    status = World(make_spec()).status.model_copy(
        update={
            "analysis_runs": [
                AnalysisRun(step=2, metric="ttft_p95_seconds", value=0.21, threshold=0.5,
                            result=MeasurementResult.SUCCESSFUL, at=T0),
                AnalysisRun(step=2, metric="ttft_p95_seconds", value=0.25, threshold=0.5,
                            result=MeasurementResult.SUCCESSFUL, at=T0),
            ],
            "load_test": LoadTestStatus(name="step-3", step=3, started_at=T0,
                                        verdict=Verdict.PASSED,
                                        report_url="file:///reports/r.json"),
        }
    )  # fmt: skip
    release = build_release(
        _resolution(), status, desired_hash="abcd1234", deployment="ns/gemma",
        alias="production", now=T0,
    )  # fmt: skip
    tags = release.tags
    assert tags["llmops.release.analysis"] == (
        "2 measurements: 2 Successful; latest ttft_p95_seconds=0.25 (threshold 0.5)"
    )
    assert tags["llmops.release.loadtest.verdict"] == "Passed (step-3)"
    assert tags["llmops.release.loadtest.report"] == "file:///reports/r.json"
    assert "[report](file:///reports/r.json)" in release.description


def test_a_pending_release_is_retried_as_first_built() -> None:
    resolution = _resolution()
    status = World(make_spec()).status
    first = build_release(
        resolution, status, desired_hash="h1", deployment="ns/g", alias="production", now=T0
    )
    pending = resolution.model_copy(update={"release": first})
    later = T0 + timedelta(minutes=5)
    again = build_release(
        pending, status, desired_hash="h1", deployment="ns/g", alias="production", now=later
    )
    assert again == first


def test_the_release_note_replaces_the_previous_one_and_keeps_what_people_wrote() -> None:
    note_1 = "<!-- llmops-release -->\nfirst\n<!-- /llmops-release -->"
    note_2 = "<!-- llmops-release -->\nsecond\n<!-- /llmops-release -->"
    assert merge_release_note("", note_1) == note_1
    merged = merge_release_note(merge_release_note("Trained on v7 data.", note_1), note_2)
    assert merged == f"Trained on v7 data.\n\n{note_2}"


def test_the_resolution_round_trips_through_the_status_json() -> None:
    resolution = _resolution(_version(**{"llmops.engine.maxModelLen": "2048"}))
    raw = resolution.to_raw()
    assert raw["trackingUri"] == TRACKING and raw["engine"] == {"maxModelLen": "2048"}
    assert ModelResolution.from_raw(raw) == resolution
    assert ModelResolution.from_raw(None) is None


def test_the_machine_rolls_out_the_effective_spec_like_any_uri_spec() -> None:
    spec = build_effective_spec(_mlflow_spec(), _resolution())
    decision = advance(spec, RolloutStatus(), Observations(), T0)
    assert decision.workloads[0].template is not None
    assert decision.workloads[0].template.model.uri == "s3://models/gemma-3-270m"


def test_a_rolled_back_candidate_is_recorded_against_its_version_once() -> None:
    resolution = _resolution()
    rolled_back = RolloutStatus(phase=Phase.ROLLED_BACK, canary_hash="h2", stable_hash="h1",
                                message="analysis failed: ttft")  # fmt: skip

    assert should_record_rollback(resolution, rolled_back, "h2")
    assert not should_record_rollback(resolution, rolled_back, "h3")  # another revision's
    running = RolloutStatus(phase=Phase.PROGRESSING, canary_hash="h2", stable_hash="h1")
    assert not should_record_rollback(resolution, running, "h2")
    record = build_rollback(resolution, rolled_back, desired_hash="h2", deployment="ns/chat",
                            now=T0)  # fmt: skip
    assert record.version == "3" and record.hash == "h2"
    assert record.tags["llmops.rollback.reason"] == "analysis failed: ttft"
    assert record.tags["llmops.rollback.modeldeployment"] == "ns/chat"
    recorded = resolution.model_copy(update={"rollback": record})
    assert not should_record_rollback(recorded, rolled_back, "h2")
    assert ModelResolution.from_raw(recorded.to_raw()) == recorded  # round-trips the status


def test_the_release_and_the_rollback_name_the_evaluation_with_its_report() -> None:
    evaluation = LoadTestStatus(name="ev-h2-s1", step=1, started_at=T0, verdict=Verdict.FAILED,
                                report_url="http://mlflow/#/experiments/2/runs/r1",
                                message="FAIL: rag hit_rate 0.00 < 0.8")  # fmt: skip
    rolled_back = RolloutStatus(phase=Phase.ROLLED_BACK, canary_hash="h2", stable_hash="h1",
                                message="step 2/3: FAIL: rag hit_rate 0.00 < 0.8",
                                evaluation=evaluation)  # fmt: skip
    record = build_rollback(
        _resolution(), rolled_back, desired_hash="h2", deployment="ns/g", now=T0
    )
    tags = record.tags
    assert tags["llmops.rollback.evaluation.verdict"] == (
        "Failed (ev-h2-s1): FAIL: rag hit_rate 0.00 < 0.8"
    )
    assert tags["llmops.rollback.evaluation.report"] == "http://mlflow/#/experiments/2/runs/r1"
    passed = evaluation.model_copy(update={"verdict": Verdict.PASSED, "message": "PASS (3/3)"})
    release = build_release(
        _resolution(), RolloutStatus(evaluation=passed), desired_hash="h2", deployment="ns/g",
        alias="production", now=T0,
    )  # fmt: skip
    assert release.tags["llmops.release.evaluation.verdict"] == "Passed (ev-h2-s1): PASS (3/3)"
    assert "- evaluation: Passed (ev-h2-s1): PASS (3/3) ([report](http://mlflow/" in (
        release.description
    )
    # A rollout without an evaluation step records none.
    plain = build_release(
        _resolution(), RolloutStatus(), desired_hash="h2", deployment="ns/g",
        alias="production", now=T0,
    )  # fmt: skip
    assert not any(".evaluation." in key for key in plain.tags)
