"""What an ``evaluation`` step runs (pure): ``llmops-loadtest eval gate`` with its two files.

The same runners as the load-test gate run it (a child process, or the load-test Job with
its input and verdict ConfigMaps): the plan is a `LoadTestPlan` whose ``command`` is
``("eval", "gate")``, whose profile is an `EvaluationGatePlan` (the golden set and probe set
inlined, read by the shell from the ConfigMaps the step names, and where they live, for the
release manifest's records) and whose gate is an
`EvaluationGate` (the thresholds).

RAG questions go through the llmops gateway (the operator's ``loadtest_gateway_url``): the
spec's alias with the revision pinned (``x-llmops-revision: canary``), so retrieval is the
candidate's own (its ``route.rag`` collection, embedder, template). Fairness probes go
there too when a gateway is set, else straight to the revision's Service.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from llmops_contracts.evaluation import (
    EvaluationGate,
    EvaluationGatePlan,
    FairnessGatePlan,
    FairnessProbeSet,
    GoldenSet,
    RagGatePlan,
)
from llmops_contracts.release import CONFIGMAP_DATASET
from llmops_operator.core.manifests.loadtest_plan import (
    REVISION_PIN_HEADER,
    LoadTestPlan,
    LoadTestPlanError,
)
from llmops_operator.core.manifests.workloads import service_url
from llmops_operator.core.rollout.interface import Role
from llmops_operator.core.spec.schema import EvaluationSpec, RevisionTemplate

COMMAND = ("eval", "gate")
# Budget per question or probe (the answer is short; a CPU engine makes ~9 tokens/s),
# and the least a run is given.
SECONDS_PER_REQUEST = 30.0
MIN_RUN_S = 60.0


def _parsed(text: str, model: type[GoldenSet] | type[FairnessProbeSet], where: str) -> int:
    """How many requests the dataset makes; a dataset that does not parse is refused here,
    naming the ConfigMap key, before any Job starts."""
    try:
        data = yaml.safe_load(text)
        parsed = model.model_validate(data)
    except yaml.YAMLError as err:
        raise LoadTestPlanError(f"{where} is not valid YAML: {err}".replace("\n", " ")) from None
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(part) for part in first["loc"]) or "(top level)"
        kind = "golden set" if model is GoldenSet else "probe set"
        raise LoadTestPlanError(
            f"{where} is not a {kind}: {loc}: {first['msg']} (see docs/evaluation.md)"
        ) from None
    if isinstance(parsed, GoldenSet):
        return len(parsed.items)
    return len(parsed.templates) * sum(len(v) for v in parsed.attributes.values())


def plan_evaluation(
    spec: EvaluationSpec,
    *,
    name: str,
    md_name: str,
    namespace: str,
    alias: str,
    revision_hash: str,
    role: Role,
    template: RevisionTemplate,
    gateway_url: str,
    grace_s: float,
    golden: str | None = None,
    probes: str | None = None,
    mlflow_version: tuple[str, str, str] | None = None,
) -> LoadTestPlan:
    """The plan for evaluation run ``name`` of revision ``revision_hash``; ``golden`` and
    ``probes`` are the datasets' texts (what the ConfigMaps hold), given when the spec
    names them."""
    through_gateway = bool(gateway_url)
    if spec.rag is not None and not through_gateway:
        raise LoadTestPlanError(
            "the rag evaluation needs the gateway (retrieval happens there): set the operator "
            "chart's loadTest.gatewayUrl (LLMOPS_OPERATOR_LOADTEST_GATEWAY_URL)"
        )
    if through_gateway:
        target, model = gateway_url.rstrip("/"), alias
        headers: dict[str, str] = {REVISION_PIN_HEADER: role}
    else:
        url = service_url(md_name, revision_hash, namespace, template.port)
        target, model, headers = url.removesuffix("/v1"), template.model.name, {}
    requests = 0
    rag_plan = fairness_plan = None
    gate: dict[str, Any] = {}
    if spec.rag is not None:
        where = f"ConfigMap {spec.rag.dataset_config_map} key {spec.rag.dataset_key}"
        if golden is None:
            raise LoadTestPlanError(f"{where} was not found")
        requests += _parsed(golden, GoldenSet, where)
        rag_plan = RagGatePlan(
            dataset=golden, top_k=spec.rag.top_k, max_tokens=spec.rag.max_tokens,
            source=f"{CONFIGMAP_DATASET}{spec.rag.dataset_config_map}/{spec.rag.dataset_key}",
        )  # fmt: skip
        gate["rag"] = spec.rag.thresholds.gate_document()
    if spec.fairness is not None:
        where = f"ConfigMap {spec.fairness.probes_config_map} key {spec.fairness.probes_key}"
        if probes is None:
            raise LoadTestPlanError(f"{where} was not found")
        requests += _parsed(probes, FairnessProbeSet, where)
        fairness_plan = FairnessGatePlan(
            probes=probes, max_tokens=spec.fairness.max_tokens,
            source=(
                f"{CONFIGMAP_DATASET}{spec.fairness.probes_config_map}/{spec.fairness.probes_key}"
            ),
        )  # fmt: skip
        gate["fairness"] = spec.fairness.thresholds.gate_document()
    plan = EvaluationGatePlan(
        name=name, model=model, headers=headers, seed=spec.seed, rag=rag_plan,
        fairness=fairness_plan,
    )  # fmt: skip
    EvaluationGate.model_validate(gate)  # the bounds the spec allows are the contract's
    mlflow = None
    if mlflow_version is not None:
        tracking_uri, model_name, version = mlflow_version
        mlflow = (tracking_uri, f"{model_name}/{version}")
    run_s = max(MIN_RUN_S, requests * SECONDS_PER_REQUEST)
    return LoadTestPlan(
        target=target,
        profile=plan.model_dump(mode="json", exclude_none=True),
        gate=gate,
        timeout_s=run_s + grace_s,
        mlflow=mlflow,
        command=COMMAND,
    )
