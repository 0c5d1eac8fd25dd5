"""The control plane schedules real workloads onto kwok's fake nodes."""

from __future__ import annotations

import json

from tests.cluster.kube import Kube

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example/web:1.0
"""


def test_should_run_a_deployment_until_its_pods_are_ready_on_fake_nodes(
    kube: Kube, namespace: str
) -> None:
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=DEPLOYMENT)

    kube.kubectl("rollout", "status", "-n", namespace, "deployment/web", "--timeout=60s")

    pods = json.loads(kube.kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)["items"]
    assert len(pods) == 2
    for pod in pods:
        assert pod["status"]["phase"] == "Running"
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
        assert ready["Ready"] == "True"
        node = json.loads(kube.kubectl("get", "node", pod["spec"]["nodeName"], "-o", "json").stdout)
        assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"


def test_should_report_the_pinned_kubernetes_version(kube: Kube) -> None:
    version = json.loads(kube.kubectl("version", "-o", "json").stdout)

    assert version["serverVersion"]["gitVersion"] == "v1.35.4"


def test_should_offer_fake_gpus_for_the_inference_chart(kube: Kube) -> None:
    listed = kube.kubectl("get", "nodes", "-l", "type=kwok", "-o", "json").stdout
    nodes = json.loads(listed)["items"]

    assert nodes  # the real node beside them has no GPU (and is tainted: charts land here)
    assert all(int(n["status"]["allocatable"]["nvidia.com/gpu"]) > 0 for n in nodes)


CLAIM = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: cache
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests: {storage: 50Gi}
"""


def test_should_bind_a_claim_without_storage_class_to_the_volume_pool(
    kube: Kube, namespace: str
) -> None:
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=CLAIM)

    kube.kubectl(
        "wait",
        "-n",
        namespace,
        "pvc/cache",
        "--for=jsonpath={.status.phase}=Bound",
        "--timeout=30s",
    )

    claim = json.loads(kube.kubectl("get", "pvc", "cache", "-n", namespace, "-o", "json").stdout)
    assert claim["spec"]["storageClassName"] == "standard"
    assert claim["spec"]["volumeName"].startswith("llmops-pool-")
