"""The evaluation step's spec and plan (pure): what is refused, what ``eval gate`` is given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmops_contracts.evaluation import EvaluationGate, EvaluationGatePlan
from llmops_operator.core.manifests.evaluation_plan import plan_evaluation
from llmops_operator.core.manifests.loadtest_plan import LoadTestPlanError
from llmops_operator.core.spec.schema import EvaluationSpec, SpecError, parse_spec, template_of
from tests.unit.operator.sim import make_spec

EXAMPLES = Path(__file__).parents[4] / "examples" / "evals"
GOLDEN = (EXAMPLES / "rag-golden.yaml").read_text()
PROBES = (EXAMPLES / "fairness-probes.yaml").read_text()
RAG = {"datasetConfigMap": "golden", "thresholds": {"tokenF1Min": 0.5, "hitRateMin": 0.8}}
FAIRNESS = {"probesConfigMap": "probes", "thresholds": {"sentimentGapMax": 0.5}}


def spec_with(evaluation: dict[str, Any]) -> Any:
    raw = make_spec().model_dump(by_alias=True, exclude_none=True)
    raw["strategy"]["canary"]["steps"] = [{"setWeight": 10}, {"evaluation": evaluation}]
    return parse_spec(raw)


def plan_for(
    evaluation: dict[str, Any],
    *,
    gateway_url: str = "http://gw.llmops:8080/",
    golden: str | None = GOLDEN,
    probes: str | None = PROBES,
    mlflow: tuple[str, str, str] | None = None,
) -> Any:
    md = make_spec(route={"alias": "rag"})
    return plan_evaluation(
        EvaluationSpec.model_validate(evaluation),
        name="ev-abcd1234-s1",
        md_name="chat",
        namespace="team-a",
        alias=md.alias,
        revision_hash="abcd1234",
        role="canary",
        template=template_of(md),
        gateway_url=gateway_url,
        grace_s=300,
        golden=golden,
        probes=probes,
        mlflow_version=mlflow,
    )


def test_an_evaluation_step_parses_with_its_defaults() -> None:
    step = spec_with({"rag": RAG, "fairness": FAIRNESS}).strategy.canary.steps[1]
    assert step.kind == "evaluation" and step.evaluation is not None
    rag, fairness = step.evaluation.rag, step.evaluation.fairness
    assert (rag.dataset_key, rag.top_k, rag.max_tokens) == ("golden.yaml", 4, 32)
    assert (fairness.probes_key, fairness.max_tokens) == ("probes.yaml", 24)
    assert step.evaluation.seed == 0
    # camelCase in the spec, the eval commands' own threshold names in the plan
    assert rag.thresholds.gate_document() == {"hit_rate_min": 0.8, "token_f1_min": 0.5}


@pytest.mark.parametrize(
    ("evaluation", "where", "message"),
    [
        ({}, "evaluation", "set rag, fairness or both"),
        ({"rag": {**RAG, "thresholds": {}}}, "evaluation.rag", "give at least one bound"),
        (
            {"fairness": {**FAIRNESS, "thresholds": {}}},
            "evaluation.fairness",
            "give at least one bound",
        ),
        (
            {"rag": {**RAG, "thresholds": {"tokenF1Min": 1.5}}},
            "evaluation.rag.thresholds.tokenF1Min",
            "less than or equal to 1",
        ),
        (
            {"rag": {**RAG, "thresholds": {"f1Min": 0.5}}},
            "evaluation.rag.thresholds",
            'unknown field "f1Min"',
        ),
        ({"rag": {"thresholds": {"mrrMin": 0.5}}}, "evaluation.rag.datasetConfigMap", "required"),
        ({"rag": RAG, "seed": -1}, "evaluation.seed", "greater than or equal to 0"),
    ],
)
def test_an_evaluation_it_could_not_judge_is_refused_naming_the_field(
    evaluation: dict[str, Any], where: str, message: str
) -> None:
    with pytest.raises(SpecError) as err:
        spec_with(evaluation)
    assert str(err.value).startswith(f"spec.strategy.canary.steps.1.{where}"), err.value
    assert message in str(err.value)


def test_a_step_holds_an_evaluation_alone() -> None:
    raw = make_spec().model_dump(by_alias=True, exclude_none=True)
    raw["strategy"]["canary"]["steps"] = [{"setWeight": 10, "evaluation": {"rag": RAG}}]
    with pytest.raises(SpecError, match="exactly one of setWeight, pause, analysis, loadTest, ev"):
        parse_spec(raw)


def test_the_plan_pins_the_canary_through_the_gateway_with_the_datasets_inlined() -> None:
    plan = plan_for({"rag": {**RAG, "topK": 2, "maxTokens": 6}, "fairness": FAIRNESS, "seed": 7})
    assert plan.command == ("eval", "gate")
    assert plan.target == "http://gw.llmops:8080"
    parsed = EvaluationGatePlan.model_validate(plan.profile)  # what `eval gate` reads
    assert parsed.model == "rag" and parsed.headers == {"x-llmops-revision": "canary"}
    assert parsed.name == "ev-abcd1234-s1" and parsed.seed == 7
    assert parsed.rag is not None and parsed.rag.dataset == GOLDEN
    assert (parsed.rag.top_k, parsed.rag.max_tokens) == (2, 6)
    assert parsed.fairness is not None and parsed.fairness.probes == PROBES
    # Where they live, for the release manifest's records (replay reads them there).
    assert parsed.rag.source == "configmap:golden/golden.yaml"
    assert parsed.fairness.source == "configmap:probes/probes.yaml"
    gate = EvaluationGate.model_validate(plan.gate)
    assert gate.rag is not None and gate.rag.token_f1_min == 0.5 and gate.rag.mrr_min is None
    assert gate.fairness is not None and gate.fairness.sentiment_gap_max == 0.5
    # 10 questions + 4 templates x 14 variants, 30 s each, then the grace
    assert plan.timeout_s == (10 + 4 * 14) * 30 + 300
    assert plan.mlflow is None


def test_a_registry_revision_logs_its_evaluation_to_its_mlflow_version() -> None:
    plan = plan_for({"rag": RAG}, mlflow=("http://mlflow:5000", "gemma", "3"))
    assert plan.mlflow == ("http://mlflow:5000", "gemma/3")


def test_fairness_alone_reaches_the_revisions_service_without_a_gateway() -> None:
    plan = plan_for({"fairness": FAIRNESS}, gateway_url="")
    parsed = EvaluationGatePlan.model_validate(plan.profile)
    assert plan.target == "http://chat-abcd1234.team-a.svc:8000"
    assert parsed.model == "gemma" and parsed.headers == {} and parsed.rag is None
    assert plan.timeout_s == 4 * 14 * 30 + 300


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gateway_url": ""}, "the rag evaluation needs the gateway"),
        ({"golden": None}, "ConfigMap golden key golden.yaml was not found"),
        ({"golden": "items: [\n"}, "ConfigMap golden key golden.yaml is not valid YAML"),
        (
            {"golden": "version: x\nitems: [{id: a, question: q}]\n"},
            "ConfigMap golden key golden.yaml is not a golden set: items.0.answer: Field required",
        ),
    ],
)
def test_a_plan_that_cannot_run_says_which_input_to_fix(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(LoadTestPlanError) as err:
        plan_for({"rag": RAG}, **kwargs)
    assert message in str(err.value)


def test_a_probe_set_that_does_not_parse_names_its_configmap() -> None:
    with pytest.raises(
        LoadTestPlanError, match=r"ConfigMap probes key probes\.yaml is not a probe"
    ):
        plan_for({"fairness": FAIRNESS}, probes="version: x\ntemplates: {a: no slot}\n")
