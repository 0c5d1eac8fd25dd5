"""`llmops demo` end to end, as a user runs it: a process of its own against the session's
cluster and vLLM, starting the real gateway and operator itself. Each run gets its own
namespace and work dir, so it never meets another test's ModelDeployment or files."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from llmops_infra.engine import EngineHandle
from tests.cluster.kube import Kube
from tests.cluster.namespaces import delete_namespace, new_namespace_name

DEMO_TIMEOUT_S = 900  # the demo's own rollout timeout is 600 s; it fails before this


@pytest.fixture
def demo_namespace(kube: Kube) -> Iterator[str]:
    """A name only: the demo makes the namespace itself (it refuses one it did not make)."""
    name = new_namespace_name("t-demo")
    yield name
    # The demo drops the operator's finalizer once it is done; after a failed run it may not
    # have, and the namespace would stay Terminating.
    delete_namespace(kube, name)


def run_demo(kube: Kube, namespace: str, work_dir: Path, *args: str) -> str:
    env = {**kube.env, "KUBECONFIG": str(kube.kubeconfig), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "llmops", "demo", "--namespace", namespace,
         "--work-dir", str(work_dir), *args],
        capture_output=True, text=True, env=env, timeout=DEMO_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr}"
    assert not list(work_dir.glob("*.pid")), "a process the demo started is still recorded"
    return done.stdout


def md(kube: Kube, namespace: str) -> dict[str, Any]:
    out = kube.kubectl("get", "modeldeployment", "chat", "-n", namespace, "-o", "json").stdout
    data: dict[str, Any] = json.loads(out)
    return data


def report_json(status: dict[str, Any]) -> dict[str, Any]:
    html = Path(urlparse(status["loadTest"]["reportUrl"]).path)
    assert html.name == "report.html" and html.is_file(), status["loadTest"]
    report: dict[str, Any] = json.loads((html.parent / "report.json").read_text())
    return report


def test_the_demo_ships_revision_2_through_the_load_test_gate(
    kube: Kube, engine: EngineHandle, demo_namespace: str, tmp_path: Path
) -> None:
    work_dir = tmp_path / "demo"

    out = run_demo(kube, demo_namespace, work_dir)

    status = md(kube, demo_namespace)["status"]
    assert status["phase"] == "Succeeded" and status["stableRevision"] == "2", status
    assert status["loadTest"]["verdict"] == "Passed"
    assert report_json(status)["verdict"]["passed"] is True
    page = (work_dir / "timeline.html").read_text()
    assert 'data-plot="timeline"' in page and "data:image/png;base64," in page
    assert "revision 2 shipped" in out
    assert f"$ kubectl llmops status chat -n {demo_namespace}" in out
    assert "Load test: lt-" in out  # the plugin's status, printed once the rollout ended
    assert str(Path(urlparse(status["loadTest"]["reportUrl"]).path)) in out
    assert "llmops cluster down" in out and "llmops engine down" in out


def test_the_demo_with_a_failing_gate_shows_the_rollback(
    kube: Kube, engine: EngineHandle, demo_namespace: str, tmp_path: Path
) -> None:
    work_dir = tmp_path / "demo"

    out = run_demo(kube, demo_namespace, work_dir, "--fail-gate")

    status = md(kube, demo_namespace)["status"]
    assert status["phase"] == "RolledBack" and status["stableRevision"] == "1", status
    progressing = next(c for c in status["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] == "LoadTestFailed"
    assert "FAIL: ttft_p95_s <= 0.001 (observed" in status["message"]
    assert report_json(status)["verdict"]["passed"] is False
    assert (work_dir / "timeline.html").is_file()
    assert "revision 2 rolled back" in out
