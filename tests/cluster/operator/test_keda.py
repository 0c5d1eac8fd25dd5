"""A canary with KEDA autoscaling, against the real API server and KEDA's real ScaledObject CRD.

The CRD (KEDA v2.18.0) comes from KEDA's Go module (`third_party_crds`), so the API server
validates every ScaledObject the operator writes against KEDA's own schema. KEDA itself does
not run here: its operator turns each ScaledObject into an HPA fed by KEDA's metrics server,
which queries Prometheus for the revision's vLLM queue, and there is no such queue, metrics
server or webhook. So the tests check what the operator writes (each revision's ScaledObject,
its bounds at every step, its deletion) and what it must never write (``replicas`` of a
Deployment its ScaledObject owns). Where KEDA's HPA would change a replica count, the test
does it with ``kubectl scale``, and says so. The operator runs as the chart's ServiceAccount,
so the chart's ``keda.sh`` RBAC is proven too.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from llmops_operator.core.manifests.autoscalers import build_autoscaler_spec
from llmops_operator.core.manifests.workloads import LABEL_MD
from llmops_operator.core.rollout.scaling import AutoscalerBounds
from llmops_operator.core.spec.schema import AutoscalingSpec
from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import Operator
from tests.cluster.operator.helpers import (
    apply_example,
    plugin,
    set_revision,
    status_of,
    wait_for,
)
from tests.cluster.operator.third_party_crds import KEDA_SCALEDOBJECT, install_crd

# Where KEDA would query queue depth; nothing queries it here.
KEDA = {
    "kind": "keda",
    "minReplicas": 2,
    "maxReplicas": 8,
    "targetQueueDepth": 5,
    "prometheusAddress": "http://prometheus.monitoring.svc:9090",
}
AUTOSCALING = AutoscalingSpec.model_validate(KEDA)


@pytest.fixture(scope="session")
def keda_crd(kube: Kube) -> None:
    install_crd(kube, KEDA_SCALEDOBJECT)


@pytest.fixture
def chart_operator_process(keda_crd: None, chart_operator_process: Operator) -> Operator:
    """The conftest's operator, started once KEDA's CRD is installed."""
    return chart_operator_process


def get_json(kube: Kube, namespace: str, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        kube.kubectl("get", *args, "-n", namespace, "-o", "json").stdout
    )
    return data


def scaled_object(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    return get_json(kube, namespace, "scaledobject.keda.sh", name)


def bounds(kube: Kube, namespace: str, name: str) -> tuple[int, int]:
    spec = scaled_object(kube, namespace, name)["spec"]
    return spec["minReplicaCount"], spec["maxReplicaCount"]


def names(kube: Kube, namespace: str, kind: str, md_name: str) -> set[str]:
    found = get_json(kube, namespace, kind, "-l", f"{LABEL_MD}={md_name}")
    return {item["metadata"]["name"] for item in found["items"]}


def replicas(kube: Kube, namespace: str, deployment: str) -> int:
    return int(get_json(kube, namespace, "deployment", deployment)["spec"]["replicas"])


def managers_of(kube: Kube, namespace: str, deployment: str, field: str) -> set[str]:
    """Field managers that own ``spec.<field>`` of the Deployment."""
    out = kube.kubectl(
        "get", "deployment", deployment, "-n", namespace, "--show-managed-fields", "-o", "json"
    ).stdout
    return {
        str(m["manager"])
        for m in json.loads(out)["metadata"]["managedFields"]
        if f'"f:{field}"' in json.dumps(m.get("fieldsV1", {}).get("f:spec", {}))
    }


def assert_stored_as_built(
    kube: Kube, namespace: str, md_name: str, revision_hash: str, expected: AutoscalerBounds
) -> None:
    """The stored ScaledObject is exactly the builder's: the schema pruned and defaulted
    nothing, and it targets the revision's own Deployment and queue."""
    built = build_autoscaler_spec(md_name, revision_hash, namespace, AUTOSCALING, expected)
    stored = scaled_object(kube, namespace, built["metadata"]["name"])
    assert stored["spec"] == built["spec"]
    assert stored["spec"]["scaleTargetRef"] == {"name": f"{md_name}-{revision_hash}"}
    owner = stored["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"]) == ("ModelDeployment", md_name)


def test_builder_scaled_objects_pass_strict_validation_against_the_keda_schema(
    kube: Kube, namespace: str, keda_crd: None
) -> None:
    for expected in (AutoscalerBounds(1, 2), AutoscalerBounds(5, 8)):
        body = build_autoscaler_spec("chat", "0123abcd", namespace, AUTOSCALING, expected)
        accepted = kube.kubectl(
            "create", "--dry-run=server", "--validate=strict", "-n", namespace,
            "-o", "json", "-f", "-", stdin=json.dumps(body),
        )  # fmt: skip
        assert json.loads(accepted.stdout)["spec"] == body["spec"]

    # The control: strict validation really applies KEDA's schema (HPA spelling is unknown).
    body["spec"]["minReplicas"] = body["spec"].pop("minReplicaCount")
    rejected = kube.kubectl(
        "create", "--dry-run=server", "--validate=strict", "-n", namespace, "-f", "-",
        stdin=json.dumps(body), check=False,
    )  # fmt: skip
    assert rejected.returncode != 0
    assert 'unknown field "spec.minReplicas"' in rejected.stderr


def test_canary_moves_scaledobject_bounds_never_writes_their_replicas_and_deletes_the_loser(
    kube: Kube, namespace: str, chart_operator_process: Operator
) -> None:
    op = chart_operator_process
    name = apply_example(kube, namespace, "canary-autoscaled.yaml", engine__autoscaling=KEDA)
    first = wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=op)
    old_hash = first["stableHash"]
    stable = f"{name}-{old_hash}"
    assert_stored_as_built(kube, namespace, name, old_hash, AutoscalerBounds(2, 8))
    assert replicas(kube, namespace, stable) == 2  # the floor, written once at creation
    (operator,) = managers_of(kube, namespace, stable, "template")  # who wrote the pod template
    assert managers_of(kube, namespace, stable, "replicas") == {operator}
    # Under load KEDA's HPA would scale the stable up; KEDA is not running, so we do.
    kube.kubectl("scale", f"deployment/{stable}", "--replicas=5", "-n", namespace)
    set_revision(kube, namespace, name, "2")

    # 25 %: the canary's own ScaledObject allows 1..2; the stable's and its 5 replicas stay
    status = wait_for(
        kube, namespace, name, lambda s: s.get("phase") == "Paused" and s["canaryWeight"] == 25,
        operator=op,
    )  # fmt: skip
    new_hash = status["canaryHash"]
    canary = f"{name}-{new_hash}"
    assert_stored_as_built(kube, namespace, name, new_hash, AutoscalerBounds(1, 2))
    assert (bounds(kube, namespace, stable), replicas(kube, namespace, stable)) == ((2, 8), 5)

    # 50 %: the canary may grow to 4 (a patch of the existing ScaledObject)
    assert plugin(kube, "promote", name, "-n", namespace).returncode == 0
    wait_for(
        kube, namespace, name, lambda s: s.get("phase") == "Paused" and s["canaryWeight"] == 50,
        operator=op,
    )  # fmt: skip
    assert_stored_as_built(kube, namespace, name, new_hash, AutoscalerBounds(1, 4))
    assert (replicas(kube, namespace, canary), replicas(kube, namespace, stable)) == (1, 5)

    # Promoting: the canary's floor becomes what the stable runs now (5). Raising the
    # replicas to that floor is the autoscaler's job, so the operator waits instead.
    assert plugin(kube, "promote", name, "-n", namespace).returncode == 0
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "Promoting", operator=op)
    assert_stored_as_built(kube, namespace, name, new_hash, AutoscalerBounds(5, 8))
    for _ in range(4):  # four ticks
        time.sleep(1)
        assert replicas(kube, namespace, canary) == 1
    assert status_of(kube, namespace, name)["phase"] == "Promoting"
    # What KEDA's HPA does when minReplicaCount rises above the replicas
    kube.kubectl("scale", f"deployment/{canary}", "--replicas=5", "-n", namespace)
    promoted = wait_for(
        kube, namespace, name, lambda s: s.get("stableRevision") == "2", operator=op
    )
    assert promoted["phase"] == "Succeeded"
    assert_stored_as_built(kube, namespace, name, new_hash, AutoscalerBounds(2, 8))

    # The old stable is kept scaleDownDelaySeconds (2 s) for an instant undo, then it and its
    # ScaledObject go; the winner keeps the replicas its autoscaler gave it.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and names(kube, namespace, "deployment", name) != {canary}:
        time.sleep(0.5)
    assert names(kube, namespace, "deployment", name) == {canary}
    assert names(kube, namespace, "scaledobject.keda.sh", name) == {canary}
    assert replicas(kube, namespace, canary) == 5
    assert operator not in managers_of(kube, namespace, canary, "replicas")


def test_rollback_deletes_the_canary_scaledobject_and_leaves_the_stable_alone(
    kube: Kube, namespace: str, chart_operator_process: Operator
) -> None:
    op = chart_operator_process
    name = apply_example(kube, namespace, "canary-autoscaled.yaml", engine__autoscaling=KEDA)
    first = wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=op)
    stable = f"{name}-{first['stableHash']}"
    kube.kubectl("scale", f"deployment/{stable}", "--replicas=3", "-n", namespace)  # as KEDA
    set_revision(kube, namespace, name, "2")
    status = wait_for(
        kube, namespace, name, lambda s: s.get("phase") == "Paused" and s["canaryWeight"] == 25,
        operator=op,
    )  # fmt: skip
    canary = f"{name}-{status['canaryHash']}"
    assert names(kube, namespace, "scaledobject.keda.sh", name) == {stable, canary}

    assert plugin(kube, "abort", name, "-n", namespace).returncode == 0
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "RolledBack", operator=op)

    # The loser keeps its Deployment (for `retry`), at 0 and without an autoscaler: with no
    # ScaledObject left, its replicas are the operator's again.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and replicas(kube, namespace, canary) != 0:
        time.sleep(0.5)
    assert names(kube, namespace, "scaledobject.keda.sh", name) == {stable}
    assert replicas(kube, namespace, canary) == 0
    assert_stored_as_built(kube, namespace, name, first["stableHash"], AutoscalerBounds(2, 8))
    assert replicas(kube, namespace, stable) == 3


def test_a_scaledobject_someone_else_put_on_a_revision_keeps_the_operator_off_its_replicas(
    kube: Kube, namespace: str, chart_operator_process: Operator
) -> None:
    op = chart_operator_process
    steps = [{"setWeight": 25}, {"pause": {}}]
    name = apply_example(kube, namespace, "canary.yaml", strategy__canary__steps=steps)
    first = wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=op)
    stable = f"{name}-{first['stableHash']}"
    theirs = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "platform-team-scaler"},
        "spec": {
            "scaleTargetRef": {"name": stable},
            "minReplicaCount": 3,
            "maxReplicaCount": 6,
            "triggers": [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60"}}],
        },
    }
    kube.kubectl("create", "-n", namespace, "-f", "-", stdin=json.dumps(theirs))
    kube.kubectl("scale", f"deployment/{stable}", "--replicas=4", "-n", namespace)  # as KEDA
    set_revision(kube, namespace, name, "2")

    wait_for(
        kube, namespace, name, lambda s: s.get("phase") == "Paused" and s["canaryWeight"] == 25,
        operator=op,
    )  # fmt: skip
    for _ in range(3):  # three ticks: spec.engine.replicas (2) is never written back
        time.sleep(1)
        assert replicas(kube, namespace, stable) == 4
    assert names(kube, namespace, "scaledobject.keda.sh", name) == set()  # no autoscaling


def keda_made_hpa(scaled: dict[str, Any]) -> dict[str, Any]:
    """The HPA KEDA's controller makes for ``scaled`` (v2.18 `hpa.go`): named
    ``keda-hpa-<name>``, the ScaledObject's labels copied, owned by the ScaledObject. KEDA does
    not run here, so the test writes it the way KEDA would."""
    meta = scaled["metadata"]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": f"keda-hpa-{meta['name']}",
            "labels": meta["labels"],
            "ownerReferences": [
                {
                    "apiVersion": "keda.sh/v1alpha1",
                    "kind": "ScaledObject",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"]},
            "minReplicas": scaled["spec"]["minReplicaCount"],
            "maxReplicas": scaled["spec"]["maxReplicaCount"],
            "metrics": [
                {
                    "type": "External",
                    "external": {
                        "metric": {"name": "s0-prometheus"},
                        "target": {"type": "AverageValue", "averageValue": "5"},
                    },
                }
            ],
        },
    }


def test_the_hpa_keda_makes_for_our_scaledobject_is_left_to_keda(
    kube: Kube, namespace: str, chart_operator_process: Operator
) -> None:
    """It carries our labels (KEDA copies them); the operator must not delete it every tick
    (KEDA would recreate it on every sync). It goes when its ScaledObject goes (the real
    garbage collector)."""
    op = chart_operator_process
    name = apply_example(kube, namespace, "canary-autoscaled.yaml", engine__autoscaling=KEDA)
    first = wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=op)
    stable = f"{name}-{first['stableHash']}"
    hpa = keda_made_hpa(scaled_object(kube, namespace, stable))
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(hpa))
    set_revision(kube, namespace, name, "2")
    status = wait_for(kube, namespace, name, lambda s: s.get("canaryWeight") == 25, operator=op)
    time.sleep(4)  # several more ticks (1 s apart)
    assert f"keda-hpa-{stable}" in names(kube, namespace, "hpa", name)

    assert plugin(kube, "promote", name, "--full", "-n", namespace).returncode == 0
    # Promoting waits for the canary to match the stable's replicas, which KEDA's HPA would
    # scale it to; no KEDA here, so the test does.
    canary = f"{name}-{status['canaryHash']}"
    wanted = replicas(kube, namespace, stable)
    kube.kubectl("scale", f"deployment/{canary}", f"--replicas={wanted}", "-n", namespace)
    wait_for(
        kube,
        namespace,
        name,
        lambda s: s.get("phase") == "Succeeded" and s.get("stableRevision") == "2",
        operator=op,
        timeout=90,
    )
    # The old stable's ScaledObject is deleted after the scale-down delay; KEDA's HPA follows.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and f"keda-hpa-{stable}" in names(
        kube, namespace, "hpa", name
    ):
        time.sleep(1)
    assert f"keda-hpa-{stable}" not in names(kube, namespace, "hpa", name)
