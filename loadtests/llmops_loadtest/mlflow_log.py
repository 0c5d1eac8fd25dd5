"""A finished load test as an MLflow run, linked to the model version it tested.

``llmops loadtest run ... --mlflow-uri URI --mlflow-model NAME/VERSION`` calls
`log_report` on the report folder once the verdict is known. The run (experiment
``llmops-loadtests``) holds:

- params: profile, load, gate SLOs, mode, targets and the models they served;
- metrics: every metric of every target (percentiles, rates, token counts; the judged target
  unprefixed, the compare baseline as ``baseline.*``), ``ratio.*`` in compare mode, and the
  verdict as numbers (``verdict_passed``, ``slos_met``, ``slos_total``);
- artifacts: ``report.json``, ``report.html``, ``summary.md`` (also the run's description);
- the link: run tags ``llmops.model.name``/``llmops.model.version``, and on the model version
  ``llmops.loadtest.run_id``, ``llmops.loadtest.verdict``, ``llmops.loadtest.run_url``.

It speaks MLflow's REST API through `llmops_loadtest.mlflow_rest` (no MLflow package) and
needs a server that serves artifacts (``mlflow server``'s default). Every failure is a
`LoadtestError` with one readable line.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.mlflow_rest import MlflowClient

EXPERIMENT = "llmops-loadtests"
ARTIFACTS = ("report.json", "report.html", "summary.md")
_MODEL_REF = re.compile(r"^(?P<name>[^/]+(?:/[^/]+)*)/(?P<version>[0-9]+)$")
_MAX_PARAM = 6000  # MLflow's limit for a param value


@dataclass(frozen=True, slots=True)
class ModelVersionRef:
    name: str
    version: str


@dataclass(frozen=True, slots=True)
class LoggedRun:
    run_id: str
    url: str


def parse_model_ref(value: str) -> ModelVersionRef:
    """``NAME/VERSION`` (the version a number; a name may hold slashes)."""
    match = _MODEL_REF.match(value.strip())
    if match is None:
        raise LoadtestError("--mlflow-model", f"{value!r} is not NAME/VERSION, e.g. gemma/3")
    return ModelVersionRef(match["name"], match["version"])


def build_params(report: Mapping[str, Any]) -> dict[str, str]:
    """What was run: enough to find comparable runs in MLflow's table."""
    gate = report.get("gate", {})
    slos = [f"{s['metric']} {s['op']} {s['threshold']}" for s in gate.get("slos", [])]
    ratios = [f"{s['metric']} {s['op']} {s['threshold']}" for s in gate.get("ratios", [])]
    params = {
        "profile": str(report.get("profile", {}).get("name", "")),
        "load": str(report.get("load_label", "")),
        "mode": str(report.get("mode", "")),
        "gate.slos": "; ".join(slos) or "none",
        "gate.ratios": "; ".join(ratios) or "none",
    }
    for label, seen in report.get("versions", {}).items():
        params[f"target.{label}"] = str(seen.get("url", ""))
        models = [str(m.get("id", "")) for m in seen.get("models", [])]
        params[f"target.{label}.models"] = ", ".join(models) or "unknown"
    return {key: value[:_MAX_PARAM] for key, value in params.items()}


def build_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """Every numeric metric (None = no data, left out) and the verdict as numbers."""
    judged = report.get("judged_target", "target")
    metrics: dict[str, float] = {}
    for label, summary in report.get("targets", {}).items():
        prefix = "" if label == judged else f"{label}."
        metrics.update(_numbers(summary.get("metrics", {}), prefix))
    metrics.update(_numbers(report.get("ratios") or {}, "ratio."))
    verdict = report.get("verdict", {})
    slos = verdict.get("slos", [])
    metrics["verdict_passed"] = 1.0 if verdict.get("passed") else 0.0
    metrics["slos_met"] = float(sum(1 for slo in slos if slo.get("passed")))
    metrics["slos_total"] = float(len(slos))
    return metrics


def _numbers(values: Mapping[str, Any], prefix: str) -> dict[str, float]:
    return {
        f"{prefix}{key}": float(value)
        for key, value in values.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def log_report(
    out_dir: Path, tracking_uri: str, model: ModelVersionRef, *, timeout_s: float = 30.0
) -> LoggedRun:
    """Log the report in ``out_dir`` as a finished run linked to ``model``."""
    try:
        report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise LoadtestError(f"{out_dir / 'report.json'}", f"cannot read the report: {err}") from err
    api = MlflowClient(tracking_uri, timeout_s, unreachable_fix="check --mlflow-uri")
    verdict = report.get("verdict", {})
    verdict_word = "pass" if verdict.get("passed") else "fail"
    tags = {
        "llmops.model.name": model.name,
        "llmops.model.version": model.version,
        "llmops.loadtest.verdict": verdict_word,
        "llmops.loadtest.headline": str(verdict.get("headline", "")),
    }
    summary = out_dir / "summary.md"
    if summary.is_file():
        tags["mlflow.note.content"] = summary.read_text(encoding="utf-8")
    started_ms = int(float(report.get("run", {}).get("started_at", time.time())) * 1000)
    return _log_finished_run(
        api,
        model,
        experiment=EXPERIMENT,
        run_name=f"{report.get('profile', {}).get('name', 'loadtest')}-{model.version}",
        started_ms=started_ms,
        tags=tags,
        params=build_params(report),
        metrics=build_metrics(report),
        artifacts=[out_dir / name for name in ARTIFACTS],
        version_tags={"verdict": verdict_word},
        tag_prefix="llmops.loadtest",
    )


def _log_finished_run(
    api: MlflowClient,
    model: ModelVersionRef,
    *,
    experiment: str,
    run_name: str,
    started_ms: int,
    tags: Mapping[str, str],
    params: Mapping[str, str],
    metrics: Mapping[str, float],
    artifacts: list[Path],
    version_tags: Mapping[str, str],
    tag_prefix: str,
) -> LoggedRun:
    """One finished run in ``experiment`` with its params, metrics and artifacts, and the
    model version tagged ``<tag_prefix>.run_id``, ``.run_url`` and ``version_tags``."""
    api.call("GET", "/model-versions/get", params={"name": model.name, "version": model.version})
    experiment_id = api.experiment_id(experiment)
    run = api.call(
        "POST",
        "/runs/create",
        json={
            "experiment_id": experiment_id,
            "run_name": run_name,
            "start_time": started_ms,
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        },
    )["run"]["info"]
    run_id, artifact_uri = run["run_id"], run["artifact_uri"]
    now_ms = int(time.time() * 1000)
    api.call(
        "POST",
        "/runs/log-batch",
        json={
            "run_id": run_id,
            "params": [{"key": k, "value": v[:_MAX_PARAM]} for k, v in params.items()],
            "metrics": [
                {"key": k, "value": v, "timestamp": now_ms, "step": 0} for k, v in metrics.items()
            ],
        },
    )
    for path in artifacts:
        if path.is_file():
            api.upload_artifact(artifact_uri, path.name, path.read_bytes())
    api.call("POST", "/runs/update", json={"run_id": run_id, "status": "FINISHED",
                                           "end_time": now_ms})  # fmt: skip
    url = f"{api.base}/#/experiments/{experiment_id}/runs/{run_id}"
    for key, value in {"run_id": run_id, **version_tags, "run_url": url}.items():
        api.call(
            "POST",
            "/model-versions/set-tag",
            json={"name": model.name, "version": model.version,
                  "key": f"{tag_prefix}.{key}", "value": value},
        )  # fmt: skip
    return LoggedRun(run_id, url)


EVALUATION_EXPERIMENT = "llmops-evaluations"
EVALUATION_ARTIFACTS = (
    "report.json", "summary.md", "rag-eval.json", "golden.yaml", "fairness.json",
    "fairness.html", "probes.yaml",
)  # fmt: skip


def build_evaluation_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """Every aggregate of an evaluation gate report: ``rag.<metric>``,
    ``fairness.<attribute>.<gap>``, and the verdict as numbers."""
    metrics: dict[str, float] = {}
    rag = report.get("rag") or {}
    metrics.update(_numbers(rag.get("metrics", {}), "rag."))
    for attr in (report.get("fairness") or {}).get("attributes", []):
        metrics.update(_numbers(attr, f"fairness.{attr.get('attribute', '')}."))
    checks = report.get("verdict", {}).get("checks", [])
    metrics["verdict_passed"] = 1.0 if report.get("verdict", {}).get("passed") else 0.0
    metrics["checks_met"] = float(sum(1 for c in checks if c.get("passed")))
    metrics["checks_total"] = float(len(checks))
    return metrics


def build_evaluation_params(report: Mapping[str, Any]) -> dict[str, str]:
    """What was evaluated: the datasets' versions and hashes, the seed, the bounds."""
    params = {"seed": str(report.get("seed", "")), "run": str(report["profile"]["name"])}
    for part in ("rag", "fairness"):
        section = report.get(part)
        if not section:
            continue
        params[f"{part}.model"] = str(section.get("model", ""))
        params[f"{part}.dataset_version"] = str(section.get("dataset_version", ""))
        params[f"{part}.dataset_sha256"] = str(section.get("dataset_sha256", ""))
    for check in report.get("verdict", {}).get("checks", []):
        params[f"bound.{check['metric']}"] = str(check["bound"])
    return params


def log_evaluation(
    out_dir: Path, tracking_uri: str, model: ModelVersionRef, *, timeout_s: float = 30.0
) -> LoggedRun:
    """Log the evaluation gate report in ``out_dir`` (experiment ``llmops-evaluations``) as a
    finished run linked to ``model``: the version gets ``llmops.evaluation.run_id``,
    ``.verdict``, ``.headline`` and ``.run_url``."""
    try:
        report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise LoadtestError(f"{out_dir / 'report.json'}", f"cannot read the report: {err}") from err
    api = MlflowClient(tracking_uri, timeout_s, unreachable_fix="check --mlflow-uri")
    verdict = report.get("verdict", {})
    verdict_word = "pass" if verdict.get("passed") else "fail"
    headline = str(verdict.get("headline", ""))
    tags = {
        "llmops.model.name": model.name,
        "llmops.model.version": model.version,
        "llmops.evaluation.verdict": verdict_word,
        "llmops.evaluation.headline": headline,
    }
    summary = out_dir / "summary.md"
    if summary.is_file():
        tags["mlflow.note.content"] = summary.read_text(encoding="utf-8")
    return _log_finished_run(
        api,
        model,
        experiment=EVALUATION_EXPERIMENT,
        run_name=f"{report['profile']['name']}-{model.version}",
        started_ms=int(time.time() * 1000),
        tags=tags,
        params=build_evaluation_params(report),
        metrics=build_evaluation_metrics(report),
        artifacts=[out_dir / name for name in EVALUATION_ARTIFACTS],
        version_tags={"verdict": verdict_word, "headline": headline[:_MAX_PARAM]},
        tag_prefix="llmops.evaluation",
    )
