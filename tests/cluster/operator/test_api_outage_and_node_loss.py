"""Two faults around the operator rather than in it.

API server outage: the shared control plane must stay up for everyone else, so the outage
is a TCP proxy in front of it that the test drops (every connection cut, the port closed)
and restores: from the operator's side, exactly an API server that went away mid-rollout
and came back. A second private control plane was not used (`cluster up` for another
cluster name starts a whole node: tens of seconds and the real node's processes).

Node loss: the candidate's pod runs on a kwok node of this test's own (tainted, so no other
pod lands there); the node is deleted mid-canary.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import GatewayMetrics, Operator
from tests.cluster.operator.faults import (
    add_private_node,
    api_proxy,
    assert_each_step_once,
    delete_node,
    private_node_pod,
    reason_of,
)
from tests.cluster.operator.helpers import apply_example, status_of, wait_for, weights

PAUSE_S = 8


@pytest.fixture
def proxied_operator(  # noqa: PLR0917 -- every parameter is a fixture
    kube: Kube,
    crd: None,
    namespace: str,
    prometheus: str,
    tmp_path: Path,
    gateway_metrics: GatewayMetrics,
) -> Iterator[tuple[Operator, object]]:
    with api_proxy(kube, tmp_path / "proxied.kubeconfig") as proxy:
        env = {
            **os.environ, **kube.env,
            "KUBECONFIG": str(tmp_path / "proxied.kubeconfig"),
            "LLMOPS_OPERATOR_PROMETHEUS_URL": prometheus,
            "LLMOPS_OPERATOR_PROMETHEUS_TIMEOUT_S": "2",
            "LLMOPS_OPERATOR_TICK_INTERVAL_S": "1",
            "LLMOPS_OPERATOR_SERVE_METRICS": "false",
            "LLMOPS_OPERATOR_REPORT_DIR": str(tmp_path / "reports"),
        }  # fmt: skip
        op = Operator(namespace, env, tmp_path / "operator.log")
        op.start()
        yield op, proxy
        op.stop()


def test_an_api_server_outage_mid_rollout_is_waited_out_and_the_rollout_resumes(
    kube: Kube, namespace: str, proxied_operator: tuple[Operator, object],
    gateway_metrics: GatewayMetrics,
) -> None:  # fmt: skip
    op, proxy = proxied_operator
    gateway_metrics.ttft[(namespace, "stable")] = 0.08
    gateway_metrics.ttft[(namespace, "canary")] = 0.08
    steps = [{"setWeight": 20}, {"pause": {"duration": f"{PAUSE_S}s"}}, {"setWeight": 50}]
    name = apply_example(kube, namespace, "canary.yaml", strategy__canary__steps=steps)
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=op)
    patch = json.dumps({"spec": {"model": {"revision": "2"}}})
    kube.kubectl("patch", "modeldeployment", name, "-n", namespace, "--type=merge", "-p", patch)
    paused = wait_for(kube, namespace, name, lambda s: reason_of(s) == "PauseStep", operator=op)

    proxy.drop()  # type: ignore[attr-defined]
    time.sleep(PAUSE_S + 2)  # the pause ends while the operator cannot reach the API server
    during = status_of(kube, namespace, name)  # (the test itself reaches it directly)
    assert during["phase"] == "Paused" and during["timeline"] == paused["timeline"]
    assert op.process is not None and op.process.poll() is None, "the operator died"
    proxy.restore()  # type: ignore[attr-defined]

    final = wait_for(
        kube, namespace, name,
        lambda s: s.get("stableRevision") == "2" and not s.get("scaleDownHash"),
        timeout=60, operator=op,
    )  # fmt: skip
    assert final["phase"] == "Succeeded"
    entries = assert_each_step_once(final)
    reasons = [e["reason"] for e in entries]
    assert reasons.count("PauseEnded") == 1 and reasons.count("Promoted") == 1, reasons
    assert weights(kube, namespace) == {"stable": 100}
    assert op.process.poll() is None


@pytest.fixture
def private_node(kube: Kube, namespace: str) -> Iterator[str]:
    node = add_private_node(kube, namespace)
    yield node
    delete_node(kube, node)


def test_losing_the_candidates_node_mid_canary_waits_the_deadline_then_rolls_back(
    kube: Kube, namespace: str, operator: Operator, private_node: str
) -> None:
    steps = [{"setWeight": 20}, {"pause": {}}]
    name = apply_example(
        kube, namespace, "canary.yaml",
        strategy__canary__steps=steps, strategy__canary__abortScaleDownDelaySeconds=0,
        progressDeadlineSeconds=10, engine__loadBudgetSeconds=0, engine__replicas=1,
    )  # fmt: skip
    first = wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded",
                     operator=operator)  # fmt: skip
    patch = json.dumps({"spec": {"model": {"revision": "2"}, "pod": private_node_pod(namespace)}})
    kube.kubectl("patch", "modeldeployment", name, "-n", namespace, "--type=merge", "-p", patch)
    paused = wait_for(kube, namespace, name, lambda s: reason_of(s) == "PauseStep",
                      operator=operator)  # fmt: skip
    pods = kube.kubectl("get", "pods", "-n", namespace, "-o", "json").stdout
    on_node = [p for p in json.loads(pods)["items"] if p["spec"].get("nodeName") == private_node]
    assert len(on_node) == 1  # the candidate's one pod, on the node about to go

    delete_node(kube, private_node)
    # the pod goes with the node once the pod GC's 40 s quarantine of a missing node ends;
    # its replacement stays Pending (no node it may run on): the candidate waits, traffic
    # as it was, with the whole deadline counted from the loss
    waiting = wait_for(kube, namespace, name, lambda s: reason_of(s) == "WaitingForReady",
                       timeout=90, operator=operator)  # fmt: skip
    lost_at = time.monotonic()
    assert waiting["canaryWeight"] == 20 and waiting["canaryHash"] == paused["canaryHash"]
    assert weights(kube, namespace)["canary"] == 20
    status = wait_for(
        kube, namespace, name, lambda s: s.get("phase") in ("RollingBack", "RolledBack"),
        timeout=60, operator=operator,
    )  # fmt: skip
    took = time.monotonic() - lost_at
    assert reason_of(status) == "ProgressDeadlineExceeded", status
    assert "canary not Ready within 10s" in status["message"]
    assert took >= 10 - 3, f"rolled back {took:.0f} s after the loss, before the deadline"
    assert status["stableHash"] == first["stableHash"]
    assert status["canaryHash"] == paused["canaryHash"]  # the same rollout, not a new one
    table = weights(kube, namespace)  # the candidate keeps a 0 entry while it drains
    assert table["stable"] == 100 and not table.get("canary"), table
