"""Invalid specs are refused or marked Failed; the plugin's commands change state."""

from __future__ import annotations

import json

import yaml

from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import Operator
from tests.cluster.operator.helpers import (
    EXAMPLES,
    apply_example,
    event_reasons,
    plugin,
    reason,
    set_revision,
    wait_for,
)


def test_schema_rejects_a_spec_with_two_strategies(kube: Kube, namespace: str, crd: None) -> None:
    doc = yaml.safe_load((EXAMPLES / "canary.yaml").read_text())
    doc["spec"]["strategy"]["blueGreen"] = {}
    result = kube.kubectl(
        "apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(doc), check=False
    )
    assert result.returncode != 0
    assert "set exactly one of strategy.canary and strategy.blueGreen" in result.stderr


def test_operator_marks_a_spec_it_cannot_roll_out_failed(
    kube: Kube, namespace: str, operator: Operator
) -> None:
    # Valid for the schema, but a step weight above maxWeight cannot be rolled out.
    name = apply_example(kube, namespace, "canary.yaml", strategy__canary__maxWeight=10)
    status = wait_for(
        kube, namespace, name, lambda s: s.get("phase") == "Failed", operator=operator
    )
    assert reason(status, "SpecValid") == "InvalidSpec"
    condition = next(c for c in status["conditions"] if c["type"] == "SpecValid")
    assert "setWeight: 20 is above maxWeight 10" in condition["message"]


def test_a_fixed_spec_lets_a_first_revision_marked_failed_load_on(
    kube: Kube, namespace: str, operator: Operator
) -> None:
    # 16 GPUs fit no node: the first revision stays Pending, waiting to become Ready.
    name = apply_example(kube, namespace, "canary.yaml", engine__gpus=16)
    first = wait_for(
        kube, namespace, name, lambda s: reason(s) == "WaitingForReady", operator=operator
    )

    def set_max_weight(value: int | None) -> None:
        patch = json.dumps({"spec": {"strategy": {"canary": {"maxWeight": value}}}})
        kube.kubectl("patch", "md", name, "-n", namespace, "--type=merge", "-p", patch)

    # The same revision, with a strategy it cannot roll out (setWeight 20 > maxWeight 10).
    set_max_weight(10)
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "Failed", operator=operator)
    # Fixed: the revision (same template hash) loads on instead of staying Failed.
    set_max_weight(None)
    status = wait_for(
        kube, namespace, name, lambda s: reason(s, "SpecValid") == "Valid", operator=operator
    )
    assert status["phase"] == "Pending" and reason(status) == "WaitingForReady"
    assert status["canaryHash"] == first["canaryHash"]


def test_plugin_pause_resume_abort_retry(kube: Kube, namespace: str, operator: Operator) -> None:
    name = apply_example(kube, namespace, "canary.yaml")
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=operator)
    assert plugin(kube, "pause", name, "-n", namespace).returncode == 0
    set_revision(kube, namespace, name, "2")
    wait_for(kube, namespace, name, lambda s: reason(s) == "PausedByUser", operator=operator)
    shown = plugin(kube, "status", name, "-n", namespace)
    assert "▶ 1: setWeight 20%" in shown.stdout, shown.stdout
    assert "Autoscalers" not in shown.stdout  # the operator sizes these revisions itself
    assert plugin(kube, "abort", name, "-n", namespace).returncode == 0
    status = wait_for(
        kube, namespace, name, lambda s: s.get("phase") == "RolledBack", operator=operator
    )
    assert reason(status) == "AbortedByUser" and status["stableRevision"] == "1"
    # One Event for the abort, one for the rollback's end (not the abort's reason twice).
    reasons = event_reasons(kube, namespace, name, until="RolledBack")
    assert reasons.count("AbortedByUser") == 1 and reasons.count("RolledBack") == 1, reasons
    assert plugin(kube, "resume", name, "-n", namespace).returncode == 0
    assert plugin(kube, "retry", name, "-n", namespace).returncode == 0
    wait_for(kube, namespace, name, lambda s: s.get("currentStepIndex", 0) >= 1, operator=operator)
    # promote --full skips the rest, through plain status reads afterwards
    assert plugin(kube, "promote", name, "-n", namespace, "--full").returncode == 0
    status = wait_for(
        kube, namespace, name, lambda s: s.get("stableRevision") == "2", operator=operator
    )
    assert status["phase"] == "Succeeded"
    missing = plugin(kube, "status", "nope", "-n", namespace)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert json.loads(kube.kubectl("get", "md", name, "-n", namespace, "-o", "json").stdout)
