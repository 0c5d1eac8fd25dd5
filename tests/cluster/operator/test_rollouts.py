"""The operator against the real API server, with analysis fed by a real Prometheus.

Each test applies an example from examples/rollouts with kubectl, runs the real operator
(`kopf run`) in its namespace and changes the model revision like a platform engineer would.
"""

from __future__ import annotations

import time

from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import GatewayMetrics, Operator
from tests.cluster.operator.helpers import (
    apply_example,
    event_reasons,
    plugin,
    reason,
    routing_table,
    set_revision,
    status_of,
    wait_for,
    weights,
)


def test_canary_example_reaches_succeeded_with_prometheus_analysis(
    kube: Kube, namespace: str, operator: Operator, gateway_metrics: GatewayMetrics
) -> None:
    gateway_metrics.ttft[(namespace, "stable")] = 0.08
    gateway_metrics.ttft[(namespace, "canary")] = 0.08
    name = apply_example(kube, namespace, "canary.yaml")
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=operator)
    assert weights(kube, namespace) == {"stable": 100}
    set_revision(kube, namespace, name, "2")
    seen_weights = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = status_of(kube, namespace, name)
        seen_weights.add(status.get("canaryWeight"))
        if status.get("phase") == "Succeeded" and status.get("stableRevision") == "2":
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"not promoted: {status}\n{operator.log.read_text()[-2000:]}")
    assert {20, 50} <= seen_weights
    runs = status["analysisRuns"]
    assert {r["metric"] for r in runs} == {"ttft-p95", "error-rate"}
    ttft = [r for r in runs if r["metric"] == "ttft-p95"]
    assert len(ttft) == 2 and all(r["result"] == "Successful" for r in ttft)
    assert all(0 < r["value"] <= 0.5 for r in ttft)  # a real histogram_quantile over the scrape
    table = routing_table(kube, namespace)["routes"][namespace]["backends"]
    assert [(b["revision"], b["weight"]) for b in table] == [("stable", 100)]
    events = kube.kubectl("get", "events", "-n", namespace, "-o", "name").stdout
    assert events.strip()
    # What the operator writes to status reads back as written (a null inside
    # status.history used to be dropped by the merge patch on every promotion).
    assert "finished with inconsistencies" not in operator.log.read_text()


def test_failing_analysis_rolls_back_and_keeps_stable(
    kube: Kube, namespace: str, operator: Operator, gateway_metrics: GatewayMetrics
) -> None:
    gateway_metrics.ttft[(namespace, "stable")] = 0.08
    gateway_metrics.ttft[(namespace, "canary")] = 2.0  # p95 far above the 0.5 s bound
    name = apply_example(kube, namespace, "canary.yaml")
    first = wait_for(
        kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=operator
    )
    set_revision(kube, namespace, name, "2")
    status = wait_for(
        kube,
        namespace,
        name,
        lambda s: s.get("phase") == "RolledBack",
        timeout=90,
        operator=operator,
    )
    assert reason(status) == "AnalysisFailed"
    assert "ttft-p95" in status["message"]
    assert status["stableRevision"] == "1" and status["stableHash"] == first["stableHash"]
    assert weights(kube, namespace) == {"stable": 100}
    canary = f"deployment/{name}-{status['canaryHash']}"
    replicas = kube.kubectl("get", canary, "-n", namespace, "-o", "jsonpath={.spec.replicas}")
    assert replicas.stdout == "0"


def test_blue_green_promotes_then_undo_inside_the_window_is_instant(
    kube: Kube, namespace: str, operator: Operator
) -> None:
    name = apply_example(kube, namespace, "blue-green.yaml")
    blue = wait_for(
        kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=operator
    )["stableHash"]
    set_revision(kube, namespace, name, "2")
    status = wait_for(
        kube, namespace, name, lambda s: reason(s) == "WaitingForPromotion", operator=operator
    )
    green = status["canaryHash"]
    assert weights(kube, namespace) == {"stable": 100, "preview": 0}
    result = plugin(kube, "promote", name, "-n", namespace)
    assert result.returncode == 0, result.stderr
    status = wait_for(
        kube, namespace, name, lambda s: s.get("stableHash") == green, operator=operator
    )
    assert status["phase"] == "Succeeded" and status["scaleDownHash"] == blue
    # Inside the 120 s scale-down window: undo switches back without any step.
    result = plugin(kube, "undo", name, "-n", namespace)
    assert result.returncode == 0, result.stderr
    assert "+++ spec (undone)" in result.stdout and "None" not in result.stdout, result.stdout
    status = wait_for(
        kube, namespace, name, lambda s: s.get("stableHash") == blue, timeout=15, operator=operator
    )
    assert reason(status) == "FastRollback"
    assert event_reasons(kube, namespace, name, until="UndoneByUser").count("UndoneByUser") == 1
    backends = routing_table(kube, namespace)["routes"][namespace]["backends"]
    assert [b["name"] for b in backends] == [f"{name}-{blue}"]
    history = plugin(kube, "history", name, "-n", namespace)
    results = [line.split()[2] for line in history.stdout.splitlines()[1:]]
    assert results == ["Promoted", "Promoted", "Promoted"], history.stdout


def test_killed_operator_resumes_the_same_pause_with_the_same_timer(
    kube: Kube, namespace: str, operator: Operator
) -> None:
    name = apply_example(kube, namespace, "canary.yaml")
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=operator)
    kube.kubectl(
        "patch",
        "modeldeployment",
        name,
        "-n",
        namespace,
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/spec/strategy/canary/steps/1/pause/duration","value":"12s"}]',
    )
    set_revision(kube, namespace, name, "2")
    paused = wait_for(
        kube, namespace, name, lambda s: s.get("phase") == "Paused", operator=operator
    )
    operator.kill()
    time.sleep(4)
    during = status_of(kube, namespace, name)
    assert during["phase"] == "Paused"
    operator.start()
    time.sleep(3)
    resumed = status_of(kube, namespace, name)
    assert resumed["currentStepIndex"] == paused["currentStepIndex"] == 1
    assert resumed["stepStartedAt"] == paused["stepStartedAt"]
    assert resumed["phase"] == "Paused"
    moved_on = wait_for(
        kube,
        namespace,
        name,
        lambda s: s.get("currentStepIndex", 0) >= 2,
        timeout=30,
        operator=operator,
    )
    assert moved_on["canaryHash"] == paused["canaryHash"]
