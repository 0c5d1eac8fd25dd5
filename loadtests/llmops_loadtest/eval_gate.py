"""``eval gate``'s shell: the evaluations a rollout's ``evaluation`` step names, run against
one target, judged together (`core.evaluation_gate`).

Inputs are the files a load-test gate has, so the operator runs both the same way (a child
process, or the load-test Job with its input and verdict ConfigMaps): ``--profile`` is an
`EvaluationGatePlan` (the model, the headers that pin the candidate, the seed, the golden
set and probe set inlined), ``--gate`` an `EvaluationGate` (the thresholds). The output
folder gets the datasets as run (``golden.yaml``, ``probes.yaml``), each evaluation's report
(``rag-eval.json``, ``fairness.json``, ``fairness.html``), ``summary.md`` and ``report.json``
(an `EvaluationGateReport`, whose ``verdict`` the runners and the verdict ConfigMap read) and
``evaluations.json`` (the `EvaluationRecord` of each evaluation, what the release manifest
keeps and ``llmops release replay`` runs again).
"""

from __future__ import annotations

from pathlib import Path

from llmops_contracts.evaluation import (
    EvaluationGate,
    EvaluationGatePlan,
    EvaluationGateReport,
    FairnessReport,
    FairnessThresholds,
    RagEvalReport,
    RagThresholds,
    ThresholdCheck,
)
from llmops_contracts.release import EVALUATIONS_KEY, gate_evaluation_records, records_to_json
from llmops_loadtest.core.evaluation_gate import judge, prefixed, summary_markdown
from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.fairness_eval import load_probes, run_fairness_eval, write_fairness_report
from llmops_loadtest.inputs import load_yaml_model
from llmops_loadtest.rag_eval import load_golden_set, run_rag_eval, write_report

REPORT_FILE = "report.json"
SUMMARY_FILE = "summary.md"


def load_plan(profile: Path, gate: Path) -> tuple[EvaluationGatePlan, EvaluationGate]:
    plan, _ = load_yaml_model(
        profile, EvaluationGatePlan, "evaluation plan",
        "give name, model, headers, seed and rag (dataset, top_k, max_tokens) and/or "
        "fairness (probes, max_tokens)",
    )  # fmt: skip
    thresholds, _ = load_yaml_model(
        gate, EvaluationGate, "evaluation gate", "give rag and/or fairness thresholds"
    )
    for part in ("rag", "fairness"):
        if getattr(plan, part) is not None and getattr(thresholds, part) is None:
            raise LoadtestError(
                f"evaluation gate {gate}", f"has no {part} thresholds", f"add {part}: to it"
            )
    if plan.rag is None and plan.fairness is None:
        raise LoadtestError(
            f"evaluation plan {profile}", "names no evaluation", "add rag or fairness"
        )
    return plan, thresholds


def run_gate(target: str, plan: EvaluationGatePlan, gate: EvaluationGate, out: Path) -> Path:
    """Run every evaluation of ``plan``, write the reports; the path of ``report.json``."""
    out.mkdir(parents=True, exist_ok=True)
    checks: list[ThresholdCheck] = []
    rag: RagEvalReport | None = None
    fairness: FairnessReport | None = None
    if plan.rag is not None:
        dataset = out / "golden.yaml"
        dataset.write_text(plan.rag.dataset, encoding="utf-8")
        golden, sha256 = load_golden_set(dataset)
        rag = run_rag_eval(
            target, golden, sha256, model=plan.model, top_k=plan.rag.top_k, seed=plan.seed,
            max_tokens=plan.rag.max_tokens, thresholds=gate.rag or RagThresholds(),
            headers=plan.headers,
        )  # fmt: skip
        write_report(rag, out)
        checks += prefixed("rag", rag.checks)
    if plan.fairness is not None:
        probes_file = out / "probes.yaml"
        probes_file.write_text(plan.fairness.probes, encoding="utf-8")
        probes, sha256 = load_probes(probes_file)
        fairness = run_fairness_eval(
            target, probes, sha256, model=plan.model, seed=plan.seed,
            max_tokens=plan.fairness.max_tokens,
            thresholds=gate.fairness or FairnessThresholds(), headers=plan.headers,
        )  # fmt: skip
        write_fairness_report(fairness, out)
        checks += prefixed("fairness", fairness.checks)
    report = EvaluationGateReport(
        profile={"name": plan.name}, seed=plan.seed, verdict=judge(checks), rag=rag,
        fairness=fairness,
    )  # fmt: skip
    (out / SUMMARY_FILE).write_text(summary_markdown(report), encoding="utf-8")
    records = gate_evaluation_records(report, plan)
    (out / EVALUATIONS_KEY).write_text(records_to_json(records) + "\n", encoding="utf-8")
    path = out / REPORT_FILE
    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path
