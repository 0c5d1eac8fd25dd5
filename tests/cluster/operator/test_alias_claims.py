"""Two ModelDeployments claiming one gateway alias: the older owns it, the younger waits.

The real operator runs as the chart's ServiceAccount (so the chart's RBAC must let it list
ModelDeployments) against the real API server; the second ModelDeployment must neither
write the routing table nor start workloads, must say why (condition, Event, plugin), and
must take the alias over once the first is deleted.
"""

from __future__ import annotations

import time
from typing import Any

import yaml

from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import Operator
from tests.cluster.operator.helpers import (
    EXAMPLES,
    events_of,
    plugin,
    reason,
    routing_table,
    status_of,
    wait_for,
)


def apply_named(kube: Kube, namespace: str, name: str) -> None:
    """The canary example under ``name``, one replica, its alias the namespace."""
    doc = yaml.safe_load((EXAMPLES / "canary.yaml").read_text())
    doc["metadata"]["name"] = name
    doc["spec"]["route"]["alias"] = namespace
    doc["spec"]["engine"]["replicas"] = 1
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(doc))


def backend_names(kube: Kube, namespace: str) -> list[str]:
    return [b["name"] for b in routing_table(kube, namespace)["routes"][namespace]["backends"]]


def deployments_of(kube: Kube, namespace: str, name: str) -> list[str]:
    out = kube.kubectl(
        "get",
        "deployments",
        "-n",
        namespace,
        "-l",
        f"llmops.dev/modeldeployment={name}",
        "-o",
        "name",
    ).stdout
    return out.split()


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in status.get("conditions", []) if c["type"] == kind)


def test_the_younger_claimant_waits_with_a_reason_then_takes_the_alias_over(
    kube: Kube, namespace: str, chart_operator_process: Operator
) -> None:
    operator = chart_operator_process
    apply_named(kube, namespace, "chat-a")
    first = wait_for(
        kube, namespace, "chat-a", lambda s: s.get("phase") == "Succeeded", operator=operator
    )
    owned = [f"chat-a-{first['stableHash']}"]
    assert backend_names(kube, namespace) == owned

    # A second ModelDeployment with the same alias: it loses the claim and says why.
    apply_named(kube, namespace, "chat-b")
    status = wait_for(
        kube,
        namespace,
        "chat-b",
        lambda s: reason(s, "SpecValid") == "AliasConflict",
        operator=operator,
    )
    assert status["phase"] == "Paused"
    message = condition(status, "SpecValid")["message"]
    assert "ModelDeployment 'chat-a'" in message
    assert "change spec.route.alias or delete chat-a" in message
    assert condition(status, "Progressing")["status"] == "False"
    # Several ticks later (one per second): still one Warning Event, nothing written.
    time.sleep(4)
    warnings = events_of(kube, namespace, "chat-b", "AliasConflict")
    assert len(warnings) == 1 and warnings[0]["type"] == "Warning"
    assert warnings[0].get("count", 1) == 1
    assert backend_names(kube, namespace) == owned
    assert deployments_of(kube, namespace, "chat-b") == []
    assert status_of(kube, namespace, "chat-a")["phase"] == "Succeeded"
    shown = plugin(kube, "status", "chat-b", "-n", namespace)
    assert "SpecValid=False AliasConflict" in shown.stdout, shown.stdout + shown.stderr

    # The owner is deleted: from its deletionTimestamp on it claims nothing, its deletion
    # handler leaves the alias to chat-b (which claims it), and the next ticks hand it over.
    kube.kubectl("delete", "modeldeployment", "chat-a", "-n", namespace, "--wait=false")
    taken = wait_for(
        kube,
        namespace,
        "chat-b",
        lambda s: s.get("phase") == "Succeeded",
        operator=operator,
    )
    assert condition(taken, "SpecValid")["status"] == "True"
    assert reason(taken) == "FirstRevisionReady"
    assert backend_names(kube, namespace) == [f"chat-b-{taken['stableHash']}"]
    claimed = events_of(kube, namespace, "chat-b", "AliasClaimed")
    assert len(claimed) == 1 and claimed[0]["type"] == "Normal"
