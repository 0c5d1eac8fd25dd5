"""The load-test gate's spec and plan (pure): what is refused, what the run is given."""

from __future__ import annotations

from typing import Any

import pytest

from llmops_loadtest.core.gate import Gate
from llmops_loadtest.core.profile import Profile
from llmops_operator.core.manifests.loadtest_plan import (
    LoadTestPlanError,
    TableCheck,
    check_served_table,
    plan_load_test,
)
from llmops_operator.core.spec.schema import LoadTestSpec, SpecError, parse_spec, template_of
from tests.unit.operator.sim import make_spec


def gate_spec(**fields: Any) -> LoadTestSpec:
    return LoadTestSpec.model_validate({"users": 4, "duration": "1m", **fields})


def plan_for(spec: LoadTestSpec, *, chat: str = "native", gateway_url: str = "") -> Any:
    md = make_spec(route={"alias": "chat", "chat": chat})
    return plan_load_test(
        spec,
        name="lt-abcd1234-s2",
        md_name="chat",
        namespace="team-a",
        alias=md.alias,
        revision_hash="abcd1234",
        role="canary",
        template=template_of(md),
        gateway_url=gateway_url,
        grace_s=300,
    )


def test_the_default_gate_refuses_errors_and_asks_for_five_requests() -> None:
    assert gate_spec().gate_document() == {"slos": ["error_ratio <= 0.01"], "min_requests": 5}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"slos": ["ttft_p99 <= 2"]}, "unknown metric 'ttft_p99'"),
        ({"slos": ["goodput_ratio >= 0.9"]}, "goodput SLOs need requestSlo (ttftSeconds"),
        ({"slos": ["fast"]}, "'fast' is not 'metric <=|<|>=|> number'"),
        ({"slos": []}, "at least 1 item"),
        ({"warmup": "1m"}, "warmup 1m must be shorter than duration 1m"),
    ],
)
def test_a_gate_it_could_not_judge_is_refused_naming_the_field(
    fields: dict[str, Any], message: str
) -> None:
    raw = make_spec().model_dump(by_alias=True, exclude_none=True)
    raw["strategy"]["canary"]["steps"] = [{"loadTest": {"users": 2, "duration": "1m", **fields}}]
    with pytest.raises(SpecError, match=r"^spec\.strategy\.canary\.steps\.0\.loadTest") as err:
        parse_spec(raw)
    assert message in str(err.value)


def test_goodput_slos_carry_the_per_request_targets_in_the_load_test_format() -> None:
    spec = gate_spec(
        slos=["goodput_ratio >= 0.95"], requestSlo={"ttftSeconds": 2, "tpotSeconds": 0.1}
    )
    gate = Gate.model_validate(spec.gate_document())
    assert gate.request_slo is not None
    assert (gate.request_slo.ttft_s, gate.request_slo.tpot_s, gate.request_slo.e2e_s) == (
        2,
        0.1,
        None,
    )


def test_straight_to_the_revision_service_with_its_served_model_name() -> None:
    plan = plan_for(gate_spec(warmup="10s", outputTokens=16))
    assert plan.target == "http://chat-abcd1234.team-a.svc:8000"
    profile = Profile.model_validate(plan.profile)  # the load-test package accepts it
    assert (profile.api, profile.model, profile.headers) == ("chat", "gemma", {})
    assert profile.prompts.model_dump() == {
        "kind": "fixed",
        "input_tokens": 128,
        "output_tokens": 16,
    }
    assert (profile.load.users, profile.duration_s, profile.warmup_s) == (4, 60, 10)
    assert plan.timeout_s == 360


def test_chat_to_a_model_without_a_chat_template_uses_completions_when_direct() -> None:
    assert plan_for(gate_spec(), chat="completion").profile["api"] == "completions"
    # through the gateway, which renders chat for such a model, it stays chat
    through = plan_for(gate_spec(), chat="completion", gateway_url="http://gw:8080/")
    assert through.profile["api"] == "chat"


def test_through_the_gateway_the_alias_is_asked_with_the_revision_pinned() -> None:
    plan = plan_for(gate_spec(profile="rag"), gateway_url="http://gw.llmops:8080/")
    assert plan.target == "http://gw.llmops:8080"
    profile = Profile.model_validate(plan.profile)
    assert (profile.api, profile.model) == ("rag_query", "chat")
    assert profile.headers == {"x-llmops-revision": "canary"}


def test_rag_without_the_gateway_says_how_to_configure_it() -> None:
    with pytest.raises(LoadTestPlanError, match=r"loadTest\.gatewayUrl"):
        plan_for(gate_spec(profile="rag"))


def test_every_retry_of_a_revision_sends_the_same_prompts() -> None:
    assert plan_for(gate_spec()).profile["seed"] == plan_for(gate_spec()).profile["seed"]


def test_a_registry_revision_logs_its_report_against_its_version() -> None:
    md = make_spec()
    plan = plan_load_test(
        gate_spec(),
        name="lt-abcd1234-s2",
        md_name="chat",
        namespace="team-a",
        alias=md.alias,
        revision_hash="abcd1234",
        role="canary",
        template=template_of(md),
        gateway_url="",
        grace_s=300,
        mlflow_version=("http://mlflow:5000", "gemma", "7"),
    )
    assert plan.mlflow == ("http://mlflow:5000", "gemma/7")
    assert plan_for(gate_spec()).mlflow is None


def test_a_gate_run_waits_until_the_gateway_serves_the_table_written() -> None:
    assert check_served_table("v2", "v2", waited_s=0, limit_s=120) == TableCheck(start=True)
    waiting = check_served_table("v2", "v1", waited_s=30, limit_s=120)
    assert not waiting.start and not waiting.warning
    assert waiting.note == "waiting for the gateway to serve routing table v2 (it serves v1)"
    silent = check_served_table("v2", None, waited_s=30, limit_s=120)
    assert not silent.start and "(its /readyz did not say)" in silent.note
    late = check_served_table("v2", "v1", waited_s=120, limit_s=120)
    assert late.start and late.warning
    assert late.note.startswith("the gateway did not serve routing table v2 within 120 s")
    # Not asked to wait, or no table written by this operator: start at once.
    assert check_served_table("v2", "v1", waited_s=0, limit_s=0).start
    assert check_served_table("", "v1", waited_s=0, limit_s=120).start
