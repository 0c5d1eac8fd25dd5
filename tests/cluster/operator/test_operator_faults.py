"""The operator killed (SIGKILL) at each phase of a canary and of a blue-green rollout, then
restarted: it resumes from the stored status with no step repeated or skipped.

One case per phase, each in its own namespace with its own operator process (`kopf run`),
against the real API server, kwok pods and the session's real Prometheus. The phase is seen
in a watch on the ModelDeployment and the operator is killed at once (the next tick is at
least 0.5 s away), so even one-tick phases (WeightSet, Promoting) are hit. Afterwards the
rollout must end in the right phase, and its record (``status.timeline``, ``analysisRuns``,
``history``) must hold every step exactly once (`faults.assert_each_step_once`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import GatewayMetrics, Operator
from tests.cluster.operator.faults import (
    Status,
    add_private_node,
    assert_each_step_once,
    assert_runs_once,
    delete_node,
    kill_at,
    private_node_pod,
    reason_of,
)
from tests.cluster.operator.helpers import apply_example, plugin, status_of, wait_for

ANALYSIS = {
    "interval": "2s", "count": 2, "window": "30s",
    "maxTtftP95Seconds": 0.5, "maxErrorRate": 0.05,
}  # fmt: skip
CANARY = {
    "strategy__canary__steps": [
        {"setWeight": 20}, {"pause": {"duration": "1s"}}, {"analysis": ANALYSIS}, {"setWeight": 50},
    ],
    "strategy__canary__abortScaleDownDelaySeconds": 2,
    "strategy__canary__warmupSeconds": 2,
}  # fmt: skip
BLUE_GREEN = {
    "strategy__blueGreen__scaleDownDelaySeconds": 5,
    "strategy__blueGreen__abortScaleDownDelaySeconds": 2,
}


@dataclass(frozen=True)
class Case:
    example: str
    at: Callable[[Status], bool]  # the phase to kill the operator in
    end: str  # the phase the rollout must end in
    canary_ttft: float = 0.08  # the candidate's TTFT in the metrics Prometheus scrapes
    pending: bool = False  # the candidate's pods wait for a node that comes after the restart
    before: tuple[str, ...] = ()  # plugin commands once the phase before the kill is reached
    before_at: Callable[[Status], bool] | None = None
    after: tuple[str, ...] = ()  # plugin commands once the restarted operator is up
    after_at: Callable[[Status], bool] | None = None
    reasons: tuple[str, ...] = ()  # reasons the rollout's timeline must show (once each)
    overrides: dict[str, Any] = field(default_factory=dict)


def phase(name: str, why: str | None = None) -> Callable[[Status], bool]:
    def check(s: Status) -> bool:
        return (
            bool(s.get("canaryRevision") == "2" or s.get("scaleDownHash"))
            and s.get("phase") == name
            and (why is None or reason_of(s) == why)
        )

    return check


def measured(s: Status) -> bool:
    runs = [r for r in s.get("analysisRuns") or [] if r["metric"] == "ttft-p95"]
    return s.get("phase") == "Analyzing" and len(runs) == 1


def in_scale_down_window(s: Status) -> bool:
    return s.get("stableRevision") == "2" and bool(s.get("scaleDownHash"))


CANARY_STEPS = ("NewRevision", "WeightSet", "PauseEnded", "AnalysisPassed", "AllStepsDone",
                "Promoted")  # fmt: skip
CASES = {
    "canary-candidate-not-ready": Case(
        "canary.yaml", phase("Progressing", "WaitingForReady"), "Succeeded", pending=True,
        reasons=CANARY_STEPS,
    ),
    "canary-setweight-done": Case(
        "canary.yaml", phase("Progressing", "WeightSet"), "Succeeded", reasons=CANARY_STEPS
    ),
    "canary-paused-with-timer": Case(
        "canary.yaml", phase("Paused", "PauseStep"), "Succeeded", reasons=CANARY_STEPS,
        # long enough that a tick always falls inside it, however loaded the machine
        overrides={"strategy__canary__steps": [
            {"setWeight": 20}, {"pause": {"duration": "5s"}}, {"analysis": ANALYSIS},
            {"setWeight": 50},
        ]},
    ),
    "canary-analysis-measured": Case(
        "canary.yaml", measured, "Succeeded", reasons=CANARY_STEPS
    ),
    "canary-promoting": Case(
        "canary.yaml", phase("Promoting"), "Succeeded", reasons=CANARY_STEPS
    ),
    "canary-rolling-back": Case(
        "canary.yaml", phase("RollingBack", "AnalysisFailed"), "RolledBack", canary_ttft=2.0,
        reasons=("NewRevision", "WeightSet", "PauseEnded", "AnalysisFailed"),
    ),
    "bluegreen-preview-not-ready": Case(
        "blue-green.yaml", phase("Progressing", "WaitingForReady"), "Succeeded", pending=True,
        after=("promote",), after_at=phase("Paused", "WaitingForPromotion"),
        reasons=("NewRevision", "WaitingForPromotion", "Promoting", "Promoted"),
    ),
    "bluegreen-waiting-for-promotion": Case(
        "blue-green.yaml", phase("Paused", "WaitingForPromotion"), "Succeeded",
        after=("promote",), after_at=phase("Paused", "WaitingForPromotion"),
        reasons=("NewRevision", "WaitingForPromotion", "Promoting", "Promoted"),
    ),
    "bluegreen-promoting": Case(
        "blue-green.yaml", phase("Promoting"), "Succeeded",
        before=("promote",), before_at=phase("Paused", "WaitingForPromotion"),
        reasons=("NewRevision", "WaitingForPromotion", "Promoting", "Promoted"),
    ),
    "bluegreen-scale-down-window": Case(
        "blue-green.yaml", in_scale_down_window, "Succeeded",
        before=("promote",), before_at=phase("Paused", "WaitingForPromotion"),
        reasons=("NewRevision", "WaitingForPromotion", "Promoting", "Promoted"),
    ),
    "bluegreen-aborting": Case(
        "blue-green.yaml", phase("RollingBack", "AbortedByUser"), "RolledBack",
        before=("abort",), before_at=phase("Paused", "WaitingForPromotion"),
        reasons=("NewRevision", "WaitingForPromotion", "AbortedByUser"),
    ),
}  # fmt: skip


@pytest.fixture
def private_node(kube: Kube, namespace: str) -> Iterator[Callable[[], str]]:
    """Adds this test's own kwok node when called; deleted at the end in any case."""
    yield lambda: add_private_node(kube, namespace)
    delete_node(kube, f"opf-{namespace}")


def start_revision_2(kube: Kube, namespace: str, name: str, *, pending: bool) -> None:
    spec: dict[str, Any] = {"model": {"revision": "2"}}
    if pending:
        spec["pod"] = private_node_pod(namespace)  # no such node yet: the pods stay Pending
    patch = json.dumps({"spec": spec})
    kube.kubectl("patch", "modeldeployment", name, "-n", namespace, "--type=merge", "-p", patch)


def run(kube: Kube, namespace: str, name: str, commands: tuple[str, ...]) -> None:
    for command in commands:
        done = plugin(kube, command, name, "-n", namespace)
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("case_id", list(CASES))
def test_killed_at_each_phase_the_operator_resumes_without_repeating_a_step(  # noqa: PLR0917
    kube: Kube,
    namespace: str,
    operator: Operator,
    gateway_metrics: GatewayMetrics,
    private_node: Callable[[], str],
    case_id: str,
) -> None:
    case = CASES[case_id]
    gateway_metrics.ttft[(namespace, "stable")] = 0.08
    gateway_metrics.ttft[(namespace, "canary")] = case.canary_ttft
    overrides = CANARY if case.example == "canary.yaml" else BLUE_GREEN
    name = apply_example(kube, namespace, case.example, **{**overrides, **case.overrides})
    first = wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded",
                     operator=operator)  # fmt: skip
    start_revision_2(kube, namespace, name, pending=case.pending)
    if case.before_at is not None:
        wait_for(kube, namespace, name, case.before_at, operator=operator)

    frozen = kill_at(
        kube, namespace, name, operator, case.at,
        trigger=(lambda: run(kube, namespace, name, case.before)) if case.before else None,
    )  # fmt: skip
    assert case.at(frozen), f"the kill missed the phase: {json.dumps(frozen)[:1500]}"
    operator.start()
    if frozen.get("phase") == "Paused" and reason_of(frozen) == "PauseStep":
        time.sleep(1)  # the restarted operator's ticks keep the pause's own clock
        again = status_of(kube, namespace, name)
        assert again["stepStartedAt"] == frozen["stepStartedAt"], again
    if case.pending:
        time.sleep(3)  # a few ticks of the new operator: still waiting, the same rollout
        again = status_of(kube, namespace, name)
        assert reason_of(again) == "WaitingForReady", again
        assert again["canaryCreatedAt"] == frozen["canaryCreatedAt"]
        private_node()
    if case.after_at is not None:
        wait_for(kube, namespace, name, case.after_at, timeout=60, operator=operator)
        run(kube, namespace, name, case.after)

    def ended(s: Status) -> bool:
        settled = not s.get("scaleDownHash") or case.end != "Succeeded"
        return s.get("phase") == case.end and settled and s.get("canaryRevision") in (None, "2")

    final = wait_for(kube, namespace, name, ended, timeout=60, operator=operator)
    entries = assert_each_step_once(final)
    reasons = [e["reason"] for e in entries]
    for expected in case.reasons:
        assert reasons.count(expected) >= 1, (expected, reasons)
    assert_runs_once(final)
    if case.example == "canary.yaml" and case.end == "Succeeded":
        ttft = [r for r in final["analysisRuns"] if r["metric"] == "ttft-p95" and r["step"] == 2]
        assert len(ttft) == ANALYSIS["count"], ttft  # no batch taken twice, none lost
        moves = [w for i, w in enumerate(e["canaryWeight"] for e in entries)
                 if i == 0 or w != entries[i - 1]["canaryWeight"]]  # fmt: skip
        assert moves == [0, 20, 50, 100], moves
    # the history: revision 1's first rollout, then revision 2's outcome, each once
    history = [(h["revision"], h["result"]) for h in final["history"]]
    outcome = "Promoted" if case.end == "Succeeded" else "RolledBack"
    assert history == [("1", "Promoted"), ("2", outcome)], history
    if case.end == "Succeeded":
        assert final["stableRevision"] == "2" and final["stableHash"] != first["stableHash"]
    else:
        assert final["stableHash"] == first["stableHash"]
