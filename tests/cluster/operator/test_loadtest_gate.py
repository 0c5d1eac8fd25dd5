"""The load-test gate end to end: operator -> `llmops loadtest run` (Locust) -> the llmops
gateway with the canary pinned -> real vLLM on the CPU; the verdict decides the rollout.

What is real: the API server, the operator process, the load test, the gateway and vLLM.
What stands in: the revision's pods run on kwok (no container starts), so the gateway's table
in this test points both revisions at the local vLLM instead of at the revisions' Services.
The gateway's own metrics prove the load went to the pinned canary only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from llmops_infra.engine import EngineHandle
from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import Operator
from tests.cluster.operator.helpers import (
    apply_example,
    plugin,
    set_revision,
    status_of,
    wait_for,
    weights,
)
from tests.integration.gateway.procs import Proc, gateway, write_table

# The example's gate (short and small: vLLM makes about 9 tokens/s on these cores).
GATE = {"users": 2, "duration": "15s", "inputTokens": 16, "outputTokens": 8, "minRequests": 2}


@pytest.fixture
def gate_gateway(engine: EngineHandle, namespace: str, tmp_path: Path) -> Iterator[Proc]:
    """The real gateway; the alias (the namespace) has a stable and a canary backend."""
    url = engine.url("generate")
    model = httpx.get(f"{url}/models", timeout=10).json()["data"][0]["id"]
    backends = [
        {"name": role, "url": url, "model": model, "weight": weight, "revision": role}
        | {"chat": "completion"}
        for role, weight in (("stable", 100), ("canary", 0))
    ]
    table = write_table(tmp_path / "routing.json", {namespace: {"backends": backends}})
    with gateway(tmp_path, routing_table=table) as proc:
        yield proc


@pytest.fixture
def operator_extra_env(gate_gateway: Proc) -> dict[str, str]:
    # This gateway routes by the table above, not the operator's: it never serves the version
    # the operator writes, so the gate does not wait for it (test_evaluation_gate's does).
    return {
        "LLMOPS_OPERATOR_LOADTEST_GATEWAY_URL": gate_gateway.url,
        "LLMOPS_OPERATOR_LOADTEST_VERIFY_TABLE_S": "0",
    }


def gateway_requests(proc: Proc, alias: str) -> dict[str, float]:
    """Requests the gateway answered for ``alias``, per revision pin (role)."""
    text = httpx.get(f"{proc.url}/metrics", timeout=5).text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "llmops_gateway_requests":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("model") == alias:
                role = sample.labels.get("revision", "")
                counts[role] = counts.get(role, 0) + sample.value
    return counts


def start_gated_canary(
    kube: Kube, namespace: str, operator: Operator, slos: list[str] | None = None
) -> str:
    """The example as shipped; ``slos`` replaces its gate's SLOs."""
    overrides: dict[str, Any] = {}
    if slos is not None:
        steps = [{"setWeight": 10}, {"loadTest": {**GATE, "slos": slos}}, {"setWeight": 50}]
        overrides["strategy__canary__steps"] = steps
    name = apply_example(kube, namespace, "canary-load-tested.yaml", **overrides)
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=operator)
    set_revision(kube, namespace, name, "2")
    return name


def report_of(status: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    html = Path(urlparse(status["loadTest"]["reportUrl"]).path)
    assert html.name == "report.html" and html.is_file(), status["loadTest"]
    report: dict[str, Any] = json.loads((html.parent / "report.json").read_text())
    return html, report


def test_a_passing_gate_lets_the_canary_through(
    kube: Kube, namespace: str, operator: Operator, gate_gateway: Proc
) -> None:
    name = start_gated_canary(kube, namespace, operator)
    running = wait_for(
        kube,
        namespace,
        name,
        lambda s: (s.get("loadTest") or {}).get("verdict") == "Running",
        timeout=180,
        operator=operator,
    )
    assert running["phase"] == "Analyzing" and running["currentStepIndex"] == 1
    done = wait_for(
        kube,
        namespace,
        name,
        lambda s: (
            s.get("phase") == "RolledBack"
            or (s.get("phase") == "Succeeded" and s.get("stableRevision") == "2")
        ),
        timeout=420,
        operator=operator,
    )
    assert done["phase"] == "Succeeded", done["message"]
    assert done["loadTest"]["verdict"] == "Passed"
    assert done["loadTest"]["message"] == "PASS (2/2 SLOs met)", done["loadTest"]
    shown = plugin(kube, "status", name, "-n", namespace).stdout
    assert f"Load test: {done['loadTest']['name']} Passed  PASS (2/2 SLOs met)" in shown
    assert "loadTest chat 2 users 15s: error_ratio <= 0.2, ttft_p95_s <= 60" in shown
    _html, report = report_of(done)
    assert report["verdict"]["passed"] is True
    measured = report["targets"]["target"]["metrics"]["requests"]
    assert measured >= GATE["minRequests"]
    # Every request of the gate went to the pinned canary; none reached stable's pin.
    served = gateway_requests(gate_gateway, namespace)
    assert served.get("canary", 0) >= measured
    assert served.get("stable", 0) == 0


def test_a_failing_gate_rolls_back_with_the_reason_and_report(
    kube: Kube, namespace: str, operator: Operator, gate_gateway: Proc
) -> None:
    name = start_gated_canary(kube, namespace, operator, ["ttft_p95_s <= 0.001"])
    stable_before = status_of(kube, namespace, name)["stableHash"]
    rolled = wait_for(
        kube,
        namespace,
        name,
        lambda s: s.get("phase") == "RolledBack" or s.get("stableRevision") == "2",
        timeout=420,
        operator=operator,
    )
    assert rolled["phase"] == "RolledBack", rolled["message"]
    assert rolled["loadTest"]["verdict"] == "Failed"
    assert "load test failed: FAIL: ttft_p95_s <= 0.001 (observed" in rolled["message"]
    assert rolled["stableHash"] == stable_before and rolled["canaryWeight"] == 0
    assert weights(kube, namespace).get("canary", 0) == 0
    _html, report = report_of(rolled)
    assert report["verdict"]["passed"] is False
    assert report["targets"]["target"]["metrics"]["requests"] >= GATE["minRequests"]
    assert gateway_requests(gate_gateway, namespace).get("canary", 0) >= 2
    events = kube.kubectl(
        "get", "events", "-n", namespace, "--field-selector", "reason=LoadTestFailed", "-o", "name"
    ).stdout
    assert events.strip(), "no LoadTestFailed event"
