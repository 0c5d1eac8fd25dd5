"""Prometheus unreachable mid-canary: every measurement is Inconclusive with a message that
says so, the rollout pauses at the gate (a person decides: promote skips it, abort rolls
back), and it never promotes by itself. The operator is pointed at a closed port."""

from __future__ import annotations

import time

import pytest

from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import Operator, free_port
from tests.cluster.operator.faults import reason_of
from tests.cluster.operator.helpers import apply_example, set_revision, status_of, wait_for


@pytest.fixture
def operator_extra_env() -> dict[str, str]:
    return {"LLMOPS_OPERATOR_PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}"}


def test_unreachable_prometheus_pauses_the_canary_and_never_promotes(
    kube: Kube, namespace: str, operator: Operator
) -> None:
    name = apply_example(kube, namespace, "canary.yaml")
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=operator)
    set_revision(kube, namespace, name, "2")
    paused = wait_for(
        kube, namespace, name, lambda s: reason_of(s) == "AnalysisInconclusive",
        timeout=60, operator=operator,
    )  # fmt: skip
    assert paused["phase"] == "Paused" and paused["currentStepIndex"] == 2
    runs = paused["analysisRuns"]
    assert runs and all(r["result"] == "Inconclusive" for r in runs)
    assert all(r["message"].startswith("Prometheus unreachable: ConnectError") for r in runs)
    condition = next(c for c in paused["conditions"] if c["type"] == "Paused")
    assert condition["status"] == "True" and "Prometheus unreachable" in condition["message"]
    # held: no promotion, no more weight, however long Prometheus stays away
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        now = status_of(kube, namespace, name)
        assert now["stableRevision"] == "1" and now["canaryWeight"] == 20, now
        assert now["phase"] == "Paused", now
        time.sleep(1)
    assert operator.process is not None and operator.process.poll() is None
