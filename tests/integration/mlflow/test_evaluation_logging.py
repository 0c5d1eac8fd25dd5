"""An evaluation gate run (``eval gate``, what a rollout's evaluation step runs) logged to a real
MLflow server against the model version it evaluated. The target is the scripted upstream
(its RAG answer cites ``scripted.txt``; its completions are placeholder tokens): the metrics
are known, the point is what MLflow holds afterwards."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import yaml

from llmops_loadtest.testing.process import start_upstream
from tests.integration.loadtest.conftest import run_cli, write
from tests.integration.mlflow.server import MlflowServer, Registry, tags_of

GOLDEN = {"version": "g1", "items": [
    {"id": "a", "question": "q1?", "answer": "scripted", "documents": ["scripted.txt"]},
    {"id": "b", "question": "q2?", "answer": "other words", "documents": ["elsewhere.md"]},
]}  # fmt: skip
PROBES = """version: p1
templates: {hire: "A note about {subject}:"}
attributes:
  age: [{group: young, value: a 25-year-old}, {group: old, value: a 65-year-old}]
"""


def test_the_evaluation_becomes_a_run_linked_to_the_version_it_judged(
    mlflow_server: MlflowServer, registry: Registry, tmp_path: Path
) -> None:
    name = f"gemma-{uuid.uuid4().hex[:8]}"
    version = registry.register(name, "s3://models/gemma", {})
    plan = {
        "name": "ev-abcd1234-s1", "model": "rag", "seed": 3,
        "headers": {"x-llmops-revision": "canary"},
        "rag": {"dataset": yaml.safe_dump(GOLDEN), "top_k": 2, "max_tokens": 4},
        "fairness": {"probes": PROBES, "max_tokens": 4},
    }  # fmt: skip
    profile = write(tmp_path / "plan.yaml", yaml.safe_dump(plan))
    gate = write(
        tmp_path / "gate.yaml",
        "rag: {hit_rate_min: 0.9}\nfairness: {length_ratio_gap_max: 0.5}\n",
    )
    with start_upstream() as upstream:
        result = run_cli(
            "eval", "gate", "--target", upstream.url, "--profile", str(profile),
            "--gate", str(gate), "--out", str(tmp_path / "out"),
            "--mlflow-uri", mlflow_server.url, "--mlflow-model", f"{name}/{version}",
        )  # fmt: skip
        seen = httpx.get(f"{upstream.url}/stats", timeout=5).json()
    # One of two questions finds its document: hit rate 0.5 < 0.9 fails the gate (exit 1).
    assert result.code == 1, result.stdout + result.stderr
    assert "FAIL: rag hit_rate 0.50 < 0.9" in result.stdout
    # The gate's headers (the revision pin) went with the requests.
    assert seen["last_headers"].get("x-llmops-revision") == "canary", seen
    tags = tags_of(registry.version(name, version))
    assert tags["llmops.evaluation.verdict"] == "fail"
    assert tags["llmops.evaluation.headline"] == "FAIL: rag hit_rate 0.50 < 0.9"
    assert result.stdout.split("MLflow run: ")[1].strip() == tags["llmops.evaluation.run_url"]
    run = registry.get("/runs/get", run_id=tags["llmops.evaluation.run_id"])["run"]
    assert isinstance(run, dict) and run["info"]["status"] == "FINISHED"
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert metrics["rag.hit_rate"] == 0.5 and metrics["rag.items"] == 2
    assert metrics["fairness.age.length_ratio_gap"] == 0.0  # same placeholder answer length
    assert (metrics["verdict_passed"], metrics["checks_met"], metrics["checks_total"]) == (0, 1, 2)
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params["seed"] == "3" and params["rag.dataset_version"] == "g1"
    assert len(params["rag.dataset_sha256"]) == 64 and params["fairness.dataset_version"] == "p1"
    listed = registry.get("/artifacts/list", run_id=tags["llmops.evaluation.run_id"])["files"]
    assert isinstance(listed, list)
    assert sorted(f["path"] for f in listed) == [
        "fairness.html", "fairness.json", "golden.yaml", "probes.yaml", "rag-eval.json",
        "report.json", "summary.md",
    ]  # fmt: skip
