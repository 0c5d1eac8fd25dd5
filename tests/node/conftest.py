"""The `node` tier: pods that really run, as containers on the local cluster's real node.

Everything here runs on the real node (containerd, runc, kubelet, the CNI bridge), from
images built on this machine (`llmops images build`), in namespaces that enforce Pod
Security "restricted". A test here that says a pod ran means its containers ran: the
tests check the containers through containerd's CRI too, not only the API's view.

If the node cannot come up, or an image cannot be built, every test here fails with the
reason; none is skipped.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from llmops_infra import images
from llmops_infra.charts.local_install import RESTRICTED
from llmops_infra.cluster import node_spec
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings
from tests.cluster.kube import Kube

ON_REAL_NODE: dict[str, Any] = {
    "nodeSelector": {node_spec.NODE_LABEL[0]: node_spec.NODE_LABEL[1]},
    "tolerations": [{**node_spec.NODE_TAINT, "operator": "Equal"}],
}


@pytest.fixture(scope="session")
def node_kube(kube: Kube, settings: LocalSettings) -> Kube:
    """The cluster, with its real node Ready (fails, naming why, when it is not)."""
    if not settings.real_node:
        pytest.fail("the node tier needs the real node: unset LLMOPS_REAL_NODE", pytrace=False)
    got = kube.kubectl("get", "node", node_spec.NODE_NAME, "-o", "json", check=False)
    if got.returncode != 0:
        pytest.fail(f"no real node in the cluster: {got.stderr.strip()}", pytrace=False)
    return kube


@pytest.fixture(scope="session")
def local_images(node_kube: Kube, settings: LocalSettings) -> dict[str, str]:
    """Every image of ours, built here (cached by content) and imported into containerd:
    name -> reference."""
    try:
        built = images.build_images(settings)
        images.load([b.archive for b in built], settings.containerd_socket)
    except LlmopsError as err:
        pytest.fail(f"the node tier needs our images: {err.one_line()}", pytrace=False)
    return {b.name: b.ref for b in built}


@pytest.fixture
def restricted_namespace(node_kube: Kube) -> Iterator[str]:
    """A fresh namespace that enforces Pod Security "restricted"; deleted afterwards."""
    name = f"n-{uuid.uuid4().hex[:8]}"
    node_kube.kubectl("create", "namespace", name)
    labels = [f"{k}={v}" for k, v in RESTRICTED.items()]
    node_kube.kubectl("label", "namespace", name, *labels)
    yield name
    node_kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


def restricted_pod(name: str, image: str, command: list[str], **extra: Any) -> dict[str, Any]:
    """A Pod that Pod Security "restricted" admits, placed on the real node."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            **ON_REAL_NODE,
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "main",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "command": command,
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
            **extra,
        },
    }


def apply(kube: Kube, namespace: str, manifest: dict[str, Any]) -> None:
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(manifest))


def wait_phase(
    kube: Kube, namespace: str, pod: str, phases: tuple[str, ...], timeout_s: float = 120.0
) -> dict[str, Any]:
    """The pod once its phase is one of `phases` (fails with its status when it is not)."""
    deadline = time.monotonic() + timeout_s
    seen: dict[str, Any] = {}
    while time.monotonic() < deadline:
        got = kube.kubectl("get", "pod", pod, "-n", namespace, "-o", "json", check=False)
        if got.returncode == 0:
            seen = json.loads(got.stdout)
            if seen.get("status", {}).get("phase") in phases:
                return seen
        time.sleep(0.5)
    raise AssertionError(f"pod {pod} never reached {phases}: {json.dumps(seen.get('status'))}")


def crictl(settings: LocalSettings, *args: str) -> str:
    """containerd's own view of the node (not the API server's)."""
    binary = settings.node_dir / "bin" / "crictl"
    done = subprocess.run(
        [str(binary), f"--runtime-endpoint=unix://{settings.containerd_socket}", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, f"crictl {' '.join(args)}: {done.stderr.strip()}"
    return done.stdout
