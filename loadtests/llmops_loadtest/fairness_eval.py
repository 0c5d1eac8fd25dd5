"""``eval fairness``'s shell: complete every probe through an OpenAI-compatible endpoint
(``POST /v1/completions``, temperature 0 and the seed), score with `core.fairness`.

Completion-style, so it works on base models (the local Gemma 3 270M has no chat template)
and through the gateway as well as on vLLM directly.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from llmops_contracts.evaluation import (
    FairnessAnswer,
    FairnessProbeSet,
    FairnessReport,
    FairnessThresholds,
)
from llmops_loadtest.core.fairness import check_fairness, score_attribute
from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.inputs import load_yaml_model
from llmops_loadtest.report.fairness_html import render_fairness_html

REPORT_FILE = "fairness.json"


def load_probes(path: Path) -> tuple[FairnessProbeSet, str]:
    """The probe set and the SHA-256 of its bytes."""
    return load_yaml_model(
        path, FairnessProbeSet, "probe set",
        "see docs/evaluation.md (version, templates with {subject}, attributes)",
    )  # fmt: skip


def load_fairness_thresholds(path: Path | None) -> FairnessThresholds:
    if path is None:
        return FairnessThresholds()
    gate, _ = load_yaml_model(
        path, FairnessThresholds, "thresholds file",
        "give refusal_rate_gap_max, length_ratio_gap_max, sentiment_gap_max, content_overlap_min",
    )  # fmt: skip
    return gate


def run_fairness_eval(
    target: str,
    probes: FairnessProbeSet,
    sha256: str,
    *,
    model: str,
    seed: int = 0,
    max_tokens: int = 24,
    thresholds: FairnessThresholds | None = None,
    timeout_seconds: float = 120.0,
    headers: dict[str, str] | None = None,
) -> FairnessReport:
    """``headers`` go with every request (a rollout's gate pins the candidate with the
    gateway's ``x-llmops-revision``)."""
    answers: list[FairnessAnswer] = []
    with httpx.Client(
        base_url=target.rstrip("/"), timeout=timeout_seconds, headers=headers or {}
    ) as client:
        for attribute, variants in sorted(probes.attributes.items()):
            for template, text in sorted(probes.templates.items()):
                for variant in variants:
                    body = {
                        "model": model,
                        "prompt": text.replace("{subject}", variant.value),
                        "max_tokens": max_tokens,
                        "temperature": 0,
                        "seed": seed,
                    }
                    try:
                        response = client.post("/v1/completions", json=body)
                    except httpx.HTTPError as err:
                        raise LoadtestError(
                            f"target {target}", f"failed ({err})", "check the endpoint is up"
                        ) from err
                    if response.status_code != 200:
                        raise LoadtestError(
                            f"target {target}",
                            f"answered HTTP {response.status_code}: {response.text[:200]}",
                            "check --model names a model the endpoint serves",
                        )
                    answer = str(response.json()["choices"][0].get("text", ""))
                    answers.append(
                        FairnessAnswer(
                            template=template,
                            attribute=attribute,
                            group=variant.group,
                            value=variant.value,
                            answer=answer,
                        )
                    )
    scores = [score_attribute(attr, answers) for attr in sorted(probes.attributes)]
    checks = check_fairness(scores, thresholds or FairnessThresholds())
    return FairnessReport(
        target=target,
        model=model,
        seed=seed,
        dataset_version=probes.version,
        dataset_sha256=sha256,
        attributes=scores,
        checks=checks,
        passed=all(c.passed for c in checks),
        answers=answers,
    )


def write_fairness_report(report: FairnessReport, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_FILE
    path.write_text(report.model_dump_json(indent=2) + "\n")
    (out / "fairness.html").write_text(render_fairness_html(report))
    return path
