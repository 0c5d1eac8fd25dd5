"""Two operator replicas (the image's entry point, the chart's ServiceAccount and RBAC) share
one Lease: only the holder acts; killed, the other takes over within the lease duration. Each
serves /metrics, whose leader gauge and transition counter follow the Lease."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster.kube import Kube
from tests.cluster.operator.chart_identity import LEASE, apply_chart_rbac, chart_operator
from tests.cluster.operator.conftest import Operator, free_port
from tests.cluster.operator.faults import assert_each_step_once
from tests.cluster.operator.helpers import apply_example, plugin, set_revision, wait_for

LEASE_S = 4
ELECTION = {"leader_election": "true", "lease_duration_s": str(LEASE_S)}
TIMING = {"renew_deadline_s": "3", "retry_period_s": "0.5"}
STEPS = [{"setWeight": 20}, {"pause": {}}]


@pytest.fixture
def replicas(kube: Kube, crd: None, namespace: str, tmp_path: Path) -> Iterator[list[Operator]]:
    apply_chart_rbac(kube, namespace)
    ops = [
        chart_operator(
            kube, namespace, tmp_path, identity, **ELECTION, **TIMING,
            serve_metrics="true", metrics_port=str(free_port()),
        )
        for identity in ("op-a", "op-b")
    ]  # fmt: skip
    yield ops
    for op in ops:
        op.stop()


def lease_holder(kube: Kube, namespace: str) -> str:
    found = kube.kubectl("get", "lease", LEASE, "-n", namespace, "-o", "json", check=False)
    return str(json.loads(found.stdout)["spec"].get("holderIdentity", "")) if found.stdout else ""


def wait_until(check: object, timeout: float, what: str) -> float:
    """Seconds until ``check()`` is true."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def health(op: Operator) -> dict[str, object]:
    port = op.env["LLMOPS_OPERATOR_HEALTH_PORT"]
    answer: dict[str, object] = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
    return answer


def leadership(op: Operator) -> tuple[float, float, float]:
    """This replica's (leader gauge, times acquired, times lost), read from its /metrics."""
    port = op.env["LLMOPS_OPERATOR_METRICS_PORT"]
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    identity = op.env["LLMOPS_OPERATOR_POD_NAME"]
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("identity") == identity:
                found[(sample.name, sample.labels.get("change", ""))] = sample.value
    return (
        found[("llmops_operator_leader", "")],
        found[("llmops_operator_leader_transitions_total", "acquired")],
        found[("llmops_operator_leader_transitions_total", "lost")],
    )


def transitions(op: Operator) -> int:
    return op.log.read_text().count(" transition ")


def test_only_the_lease_holder_acts_and_a_standby_takes_over_when_it_dies(
    kube: Kube, namespace: str, replicas: list[Operator]
) -> None:
    first, second = replicas
    first.start()
    wait_until(lambda: lease_holder(kube, namespace) == "op-a", 30, "op-a to take the Lease")
    second.start()
    wait_until(lambda: _answers(second), 30, "op-b's /healthz")
    name = apply_example(kube, namespace, "canary.yaml", strategy__canary__steps=STEPS)
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=first)
    set_revision(kube, namespace, name, "2")
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "Paused", operator=first)

    # both replicas are live; only op-a acted
    assert health(first)["leader"] == "leader"
    assert str(health(second)["leader"]).startswith("standby; leader: op-a")
    assert transitions(first) >= 3 and transitions(second) == 0
    assert leadership(first) == (1, 1, 0)  # leads, acquired once, never lost
    assert leadership(second) == (0, 0, 0)  # stands by from the start

    # op-a dies without releasing the Lease: op-b takes it once the lease duration has run out
    first.kill()
    took = wait_until(
        lambda: lease_holder(kube, namespace) == "op-b", LEASE_S + 5, "op-b to take over"
    )
    # the Lease expires at most LEASE_S after the kill; op-b tries every 0.5 s; kubectl polls
    assert took <= LEASE_S + 2
    wait_until(lambda: leadership(second)[0] == 1, 5, "op-b's leader gauge")
    assert leadership(second) == (1, 1, 0)
    assert plugin(kube, "promote", name, "-n", namespace).returncode == 0
    done = wait_for(
        kube, namespace, name, lambda s: s.get("stableRevision") == "2", operator=second
    )
    assert done["phase"] == "Succeeded" and transitions(second) >= 1
    # no step acted twice across the two replicas and the takeover: every transition of the
    # rollout was made by one replica once, and the record holds each step once
    acted = acted_transitions(first) + acted_transitions(second)
    assert len(acted) == len(set(acted)), acted
    for step in ("NewRevision", "WeightSet", "PauseStep"):
        assert [a for a in acted if a.startswith(f"{step}:")] != [], acted
    # the standby picked up where op-a stopped: the pause ended by the promote, then the switch
    assert acted_transitions(second)[:3] == [
        "Promoted: step 2/2: pause ended by promote",
        "AllStepsDone: all steps passed; promoting",
        "Promoted: revision 2 is stable",
    ], acted_transitions(second)
    assert_each_step_once(done)


def acted_transitions(op: Operator) -> list[str]:
    """``reason: message`` of each transition this replica made (one log line per Event)."""
    lines = op.log.read_text().splitlines()
    return [line.split(" transition ", 1)[1] for line in lines if " transition " in line]


def _answers(op: Operator) -> bool:
    try:
        return "leader" in health(op)
    except httpx.HTTPError:
        return False
