"""The llmops-stack umbrella on the real API server, in a namespace enforcing Pod Security
"restricted": install --wait, helm test, upgrade rolls the Deployment, uninstall leaves only
the documented Milvus data claim. The gateway's routing table ConfigMap is seeded at install,
then belongs to the operator: an upgrade keeps what the operator wrote, uninstall keeps it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from llmops_infra.charts import helm
from llmops_infra.settings import LocalSettings
from tests.cluster.kube import Kube

# Every object kind a release of the stack creates (CRDs aside: Helm never deletes them).
RELEASE_KINDS = (
    "deploy,sts,rs,pod,svc,cm,secret,pvc,pdb,networkpolicy,serviceaccount,role,rolebinding,hpa,job"
)


@pytest.fixture
def restricted(kube: Kube, namespace: str) -> str:
    kube.kubectl(
        "label",
        "namespace",
        namespace,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/enforce-version=latest",
    )
    return namespace


@pytest.fixture
def volumes(kube: Kube, namespace: str) -> Iterator[str]:
    """Pre-made volumes of a storage class only this test uses (the cluster has no provisioner)."""
    storage_class = f"{namespace}-local"
    pvs = [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"{namespace}-pv-{i}"},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": storage_class,
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": f"/tmp/{namespace}/{i}"},
            },
        }
        for i in range(3)  # the model's and the embedder's caches, Milvus' data
    ]
    kube.kubectl(
        "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": pvs})
    )
    yield storage_class
    kube.kubectl(
        "delete", "pv", *(pv["metadata"]["name"] for pv in pvs), "--wait=false", check=False
    )


def values(storage_class: str, max_context_chars: int) -> dict[str, Any]:
    return {
        "llm-inference": {"modelCache": {"size": "1Gi", "storageClassName": storage_class}},
        "embedder": {"modelCache": {"size": "1Gi", "storageClassName": storage_class}},
        "milvus": {"persistence": {"size": "1Gi", "storageClassName": storage_class}},
        "rag-gateway": {"rag": {"maxContextChars": max_context_chars}},
    }


def write_as_the_operator(kube: Kube, namespace: str, alias: str) -> dict[str, str]:
    """Add ``alias`` to the routing table the way the operator's GatewayRouter does: read,
    then replace with the read resourceVersion and only its own label."""
    current = get(kube, namespace, "configmap/llmops-routing")
    table = yaml.safe_load(current["data"]["routing.yaml"])
    table["routes"][alias] = {
        "kind": "generate",
        "backends": [{"name": f"{alias}-stable", "url": f"http://{alias}:8000/v1", "model": alias}],
    }
    data = {"routing.yaml": yaml.safe_dump(table, sort_keys=False)}
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "llmops-routing",
            "namespace": namespace,
            "resourceVersion": current["metadata"]["resourceVersion"],
            "labels": {"app.kubernetes.io/part-of": "llmops"},
        },
        "data": data,
    }
    kube.kubectl("replace", "-f", "-", stdin=json.dumps(body))
    return data


def leftovers(kube: Kube, namespace: str, release: str) -> list[str]:
    """Objects of the release still there once the garbage collector settles (up to 30 s)."""
    selector = f"app.kubernetes.io/instance={release}"
    deadline = time.monotonic() + 30
    while True:
        args = ("get", RELEASE_KINDS, "-n", namespace, "-l", selector, "-o", "name")
        left = kube.kubectl(*args).stdout.split()
        if len(left) <= 1 or time.monotonic() > deadline:
            return left
        time.sleep(1)


def get(kube: Kube, namespace: str, what: str) -> dict[str, Any]:
    out = kube.kubectl("get", what, "-n", namespace, "-o", "json").stdout
    result: dict[str, Any] = json.loads(out)
    return result


def test_should_install_test_upgrade_and_uninstall_the_stack_under_restricted_pod_security(
    kube: Kube, restricted: str, volumes: str, settings: LocalSettings
) -> None:
    namespace = release = restricted
    target = helm.HelmTarget(settings.bin_dir / "helm", kube.kubeconfig)

    async def scenario() -> dict[str, str]:
        installed = await helm.deploy(
            target, release, namespace, values(volumes, 4000), upgrade=False, helm_timeout="180s"
        )
        assert (installed.revision, installed.status) == (1, "deployed")
        for name in ("llm-inference", "embedder", "rag-gateway", "llmops-operator"):
            deploy = get(kube, namespace, f"deployment/{release}-{name}")
            assert deploy["status"]["readyReplicas"] == deploy["spec"]["replicas"]
        assert get(kube, namespace, f"sts/{release}-milvus")["status"]["readyReplicas"] == 1

        report = await helm.run_tests(target, release, namespace, helm_timeout="120s")
        assert report.count("Phase:          Succeeded") == 6, report  # the embedder's too

        seeded = yaml.safe_load(
            get(kube, namespace, "configmap/llmops-routing")["data"]["routing.yaml"]
        )
        assert seeded["routes"]["gemma-3-270m"]["backends"][0]["url"] == (
            f"http://{release}-llm-inference:8000/v1"
        )
        assert seeded["routes"]["all-minilm-l6-v2"]["backends"][0]["url"] == (
            f"http://{release}-embedder:8000/v1"
        )
        written = write_as_the_operator(kube, namespace, "gemma-next")

        gateway_before = get(kube, namespace, f"deployment/{release}-rag-gateway")
        upgraded = await helm.deploy(
            target, release, namespace, values(volumes, 8000), upgrade=True, helm_timeout="180s"
        )
        assert upgraded.revision == 2
        assert get(kube, namespace, "configmap/llmops-routing")["data"] == written
        gateway_after = get(kube, namespace, f"deployment/{release}-rag-gateway")
        # A changed setting changes the pod template's checksum: the Deployment rolls.
        assert (
            gateway_after["metadata"]["generation"] == gateway_before["metadata"]["generation"] + 1
        )
        assert gateway_after["status"]["updatedReplicas"] == gateway_after["spec"]["replicas"]

        await helm.uninstall(target, release, namespace)
        return written

    written = asyncio.run(scenario())
    left = leftovers(kube, namespace, release)
    cluster_left = kube.kubectl(
        "get",
        "clusterrole,clusterrolebinding",
        "-l",
        f"app.kubernetes.io/instance={release}",
        "-o",
        "name",
    ).stdout.split()
    # Documented: Milvus keeps its data claim (milvus.persistence.whenDeleted=Retain).
    assert left == [f"persistentvolumeclaim/data-{release}-milvus-0"]
    assert cluster_left == []
    # Documented too: the routing table is the operator's, not the release's.
    assert get(kube, namespace, "configmap/llmops-routing")["data"] == written
