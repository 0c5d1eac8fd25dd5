"""A canary next to HPAs, against the real API server and kube-controller-manager's real HPA
controller, with the operator running as the chart's ServiceAccount (so its RBAC is proven).

There is no metrics server here, so the HPA controller never scales on load; it does enforce
each HPA's bounds. "Load" is played by scaling the stable to 5 replicas the way its HPA would;
the test checks at every step that the operator left that number alone and moved only the
per-revision HPAs' min/max.
"""

from __future__ import annotations

import json

from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import Operator
from tests.cluster.operator.helpers import apply_example, plugin, set_revision, wait_for


def hpa_bounds(kube: Kube, namespace: str, deployment: str) -> tuple[int, int]:
    out = kube.kubectl("get", "hpa", deployment, "-n", namespace, "-o", "json").stdout
    spec = json.loads(out)["spec"]
    return spec["minReplicas"], spec["maxReplicas"]


def replicas(kube: Kube, namespace: str, deployment: str) -> int:
    out = kube.kubectl(
        "get", "deployment", deployment, "-n", namespace, "-o", "jsonpath={.spec.replicas}"
    )
    return int(out.stdout)


def test_canary_moves_hpa_bounds_and_never_overwrites_hpa_owned_replicas(
    kube: Kube, namespace: str, chart_operator_process: Operator
) -> None:
    op = chart_operator_process
    name = apply_example(kube, namespace, "canary-autoscaled.yaml")
    first = wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=op)
    stable = f"{name}-{first['stableHash']}"
    assert hpa_bounds(kube, namespace, stable) == (2, 8)
    # Under load the stable's HPA would scale it up; without a metrics server we do it for it.
    kube.kubectl("scale", f"deployment/{stable}", "--replicas=5", "-n", namespace)
    set_revision(kube, namespace, name, "2")

    # step 1-2: 25 % and a pause: the canary's own HPA allows 1..2, the stable's is untouched
    status = wait_for(
        kube, namespace, name, lambda s: s.get("phase") == "Paused" and s["canaryWeight"] == 25,
        operator=op,
    )  # fmt: skip
    canary = f"{name}-{status['canaryHash']}"
    assert hpa_bounds(kube, namespace, canary) == (1, 2)
    assert (hpa_bounds(kube, namespace, stable), replicas(kube, namespace, stable)) == ((2, 8), 5)

    # step 3-4: promoted past the pause, 50 %: the canary may grow to 4
    assert plugin(kube, "promote", name, "-n", namespace).returncode == 0
    wait_for(
        kube, namespace, name, lambda s: s.get("phase") == "Paused" and s["canaryWeight"] == 50,
        operator=op,
    )  # fmt: skip
    assert hpa_bounds(kube, namespace, canary) == (1, 4)
    assert replicas(kube, namespace, stable) == 5

    # Promoting: the canary's floor becomes what the stable runs now (5); the real HPA
    # controller, not the operator, scales it there; then the switch
    assert plugin(kube, "promote", name, "-n", namespace).returncode == 0
    promoted = wait_for(
        kube, namespace, name, lambda s: s.get("stableRevision") == "2", timeout=60, operator=op
    )
    assert promoted["phase"] == "Succeeded"
    assert replicas(kube, namespace, canary) == 5
    managers = kube.kubectl(
        "get", "deployment", canary, "-n", namespace, "--show-managed-fields", "-o", "json"
    ).stdout
    replica_owners = [
        m["manager"]
        for m in json.loads(managers)["metadata"]["managedFields"]
        if '"f:replicas"' in json.dumps(m.get("fieldsV1", {}))
    ]
    assert "kube-controller-manager" in " ".join(replica_owners), replica_owners
    assert hpa_bounds(kube, namespace, canary) == (2, 8)


def test_plugin_status_shows_each_revisions_autoscaler_bounds_and_replicas(
    kube: Kube, namespace: str, chart_operator_process: Operator
) -> None:
    op = chart_operator_process
    name = apply_example(kube, namespace, "canary-autoscaled.yaml")
    first = wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=op)
    set_revision(kube, namespace, name, "2")
    paused = wait_for(
        kube, namespace, name, lambda s: s.get("phase") == "Paused" and s["canaryWeight"] == 25,
        operator=op,
    )  # fmt: skip
    stable = f"stable    1 ({first['stableHash']})  HPA          min..max 2..8    replicas "
    canary = f"candidate 2 ({paused['canaryHash']})  HPA          min..max 1..2    replicas "
    shown: list[str] = []

    def counted_by_the_hpa_controller(_: dict[str, object]) -> bool:
        """The plugin shows what the real HPA controller reports (it syncs every 15 s)."""
        shown.append(plugin(kube, "status", name, "-n", namespace).stdout)
        return f"{stable}2 current" in shown[-1] and f"{canary}1 current" in shown[-1]

    wait_for(kube, namespace, name, counted_by_the_hpa_controller, timeout=60, operator=op)
    assert "Autoscalers (hpa, full size 2..8):" in shown[-1], shown[-1]
