"""The operator's load-test gate on a registry revision: the report is logged to MLflow as a
run linked to the model version, and that run is the link in status."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from llmops_loadtest.testing.process import start_upstream
from llmops_operator.clients.loadtest import ProcessLoadTestRunner
from llmops_operator.core.state.status import LoadTestVerdict
from tests.integration.mlflow.server import MlflowServer, Registry, free_port, tags_of
from tests.integration.operator.test_loadtest_runner import plan, wait_done


def test_a_registry_revisions_gate_report_is_an_mlflow_run_linked_to_its_version(
    mlflow_server: MlflowServer, registry: Registry, tmp_path: Path
) -> None:
    name = f"gemma-{uuid.uuid4().hex[:8]}"
    version = registry.register(name, "s3://models/gemma", {})
    runner = ProcessLoadTestRunner(str(tmp_path))
    gate = plan("", slos=["error_ratio <= 0"])
    with start_upstream(ttft_s=0.02, itl_s=0.005) as upstream:
        gate = type(gate)(upstream.url, gate.profile, gate.gate, gate.timeout_s,
                          (mlflow_server.url, f"{name}/{version}"))  # fmt: skip
        runner.start("ns.md.gate", "gate", gate)
        seen = wait_done(runner, "ns.md.gate")
    assert seen.verdict is LoadTestVerdict.PASSED, seen
    assert seen.report_url.startswith(f"{mlflow_server.url}/#/experiments/"), seen.report_url
    run_id = tags_of(registry.version(name, version))["llmops.loadtest.run_id"]
    assert run_id in seen.report_url
    run = registry.get("/runs/get", run_id=run_id)["run"]
    assert isinstance(run, dict) and run["info"]["status"] == "FINISHED"


def test_an_unreachable_mlflow_keeps_the_verdict_and_says_the_report_was_not_logged(
    tmp_path: Path,
) -> None:
    runner = ProcessLoadTestRunner(str(tmp_path))
    gate = plan("", slos=["error_ratio <= 0"])
    down = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with start_upstream(ttft_s=0.02, itl_s=0.005) as upstream:
        gate = type(gate)(upstream.url, gate.profile, gate.gate, gate.timeout_s,
                          (down, "gemma/1"))  # fmt: skip
        runner.start("ns.md.gate", "gate", gate)
        seen = wait_done(runner, "ns.md.gate")
    # MLflow is checked after the load: the run happened and passed; only the upload failed.
    assert seen.verdict is LoadTestVerdict.PASSED, seen
    assert seen.message.startswith("PASS (1/1 SLOs met) (report not logged to MLflow:"), seen
    assert seen.report_url.endswith("/report/report.html")
    assert time.monotonic() - started < 120
