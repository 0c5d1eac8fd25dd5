"""A load-test report logged as an MLflow run linked to the model version it tested."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.mlflow_log import ModelVersionRef, log_report
from llmops_loadtest.run import write_report
from llmops_loadtest.testing.process import start_upstream
from tests.integration.loadtest.conftest import run_cli, write
from tests.integration.mlflow.server import MlflowServer, Registry, free_port, tags_of
from tests.unit.loadtest.test_mlflow_log import fixture_report


def _report_folder(tmp_path: Path) -> Path:
    """report.json, report.html and summary.md, as `llmops loadtest run` writes them."""
    write_report(tmp_path, fixture_report(), records=[])
    return tmp_path


def test_a_report_becomes_a_finished_run_with_params_metrics_artifacts_and_the_link(
    mlflow_server: MlflowServer, registry: Registry, tmp_path: Path
) -> None:
    name = f"gemma-{uuid.uuid4().hex[:8]}"
    version = registry.register(name, "s3://models/gemma", {})
    logged = log_report(_report_folder(tmp_path), mlflow_server.url, ModelVersionRef(name, version))
    run = registry.get("/runs/get", run_id=logged.run_id)["run"]
    assert isinstance(run, dict)
    assert run["info"]["status"] == "FINISHED"
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params["profile"] == "smoke" and params["gate.slos"].startswith("ttft_p95_s <= 0.5")
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert metrics["ttft_p95_s"] == pytest.approx(0.1)
    assert (metrics["verdict_passed"], metrics["slos_met"], metrics["slos_total"]) == (0, 1, 2)
    assert {"e2e_p99_s", "itl_p50_s", "tpot_max_s", "output_tokens_per_s"} <= metrics.keys()
    run_tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert (run_tags["llmops.model.name"], run_tags["llmops.model.version"]) == (name, version)
    assert run_tags["llmops.loadtest.verdict"] == "fail"
    assert run_tags["mlflow.note.content"].startswith("## Load test `smoke`")
    listed = registry.get("/artifacts/list", run_id=logged.run_id)["files"]
    assert isinstance(listed, list)
    assert sorted(f["path"] for f in listed) == ["report.html", "report.json", "summary.md"]
    report = httpx.get(
        f"{mlflow_server.url}/get-artifact", params={"run_id": logged.run_id, "path": "report.json"}
    )
    assert report.json()["verdict"]["passed"] is False
    # the model version points back at the run
    version_tags = tags_of(registry.version(name, version))
    assert version_tags["llmops.loadtest.run_id"] == logged.run_id
    assert version_tags["llmops.loadtest.verdict"] == "fail"
    assert version_tags["llmops.loadtest.run_url"] == logged.url


def test_an_unknown_model_version_is_a_one_line_error_and_no_run(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    with pytest.raises(LoadtestError, match=r"version=7\) not found \(HTTP 404\)"):
        log_report(_report_folder(tmp_path), mlflow_server.url, ModelVersionRef("no-such", "7"))


def test_an_unreachable_server_is_a_one_line_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(LoadtestError, match="unreachable") as caught:
        log_report(_report_folder(tmp_path), url, ModelVersionRef("gemma", "1"), timeout_s=2)
    assert "\n" not in caught.value.one_line()


def test_the_cli_runs_the_load_test_then_logs_it_against_the_version(
    mlflow_server: MlflowServer, registry: Registry, tmp_path: Path
) -> None:
    name = f"gemma-{uuid.uuid4().hex[:8]}"
    version = registry.register(name, "s3://models/gemma", {})
    profile = write(
        tmp_path / "p.yaml",
        "name: mlflow-cli\napi: completions\nprompts: {kind: fixed, input_tokens: 8, "
        "output_tokens: 4}\nload: {shape: fixed_concurrency, users: 2, duration_s: 3}\n",
    )
    gate = write(tmp_path / "g.yaml", "slos:\n  - error_ratio <= 0.01\nmin_requests: 3\n")
    with start_upstream(ttft_s=0.01, itl_s=0.002) as upstream:
        result = run_cli(
            "run", "--target", upstream.url, "-p", str(profile), "-g", str(gate),
            "-o", str(tmp_path / "out"), "--mlflow-uri", mlflow_server.url,
            "--mlflow-model", f"{name}/{version}",
        )  # fmt: skip
    assert result.code == 0, result.stderr + result.stdout
    assert "MLflow run: " in result.stdout
    tags = tags_of(registry.version(name, version))
    assert tags["llmops.loadtest.verdict"] == "pass"
    assert result.stdout.split("MLflow run: ")[1].strip() == tags["llmops.loadtest.run_url"]
