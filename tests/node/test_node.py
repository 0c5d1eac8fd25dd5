"""The real node: Ready beside the kwok nodes, CoreDNS in real containers, Service DNS and
kube-proxy between pods, logs, exec and port-forward from the host over loopback."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from llmops_infra.cluster import node_spec
from llmops_infra.settings import LocalSettings
from tests.cluster.kube import Kube
from tests.node.conftest import apply, crictl, restricted_pod, wait_phase


def test_should_register_a_ready_tainted_real_node_beside_the_kwok_nodes(
    node_kube: Kube, settings: LocalSettings
) -> None:
    nodes = json.loads(node_kube.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    by_name = {n["metadata"]["name"]: n for n in nodes}

    real = by_name[node_spec.NODE_NAME]
    ready = {c["type"]: c["status"] for c in real["status"]["conditions"]}
    assert ready["Ready"] == "True"
    assert real["spec"]["taints"] == [node_spec.NODE_TAINT]
    assert real["metadata"]["labels"]["llmops.dev/node"] == "real"
    addresses = {a["type"]: a["address"] for a in real["status"]["addresses"]}
    assert addresses["InternalIP"] == node_spec.NODE_IP
    assert real["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")
    assert real["status"]["nodeInfo"]["kubeletVersion"] == "v1.35.4"
    kwok = [n for n in by_name if n.startswith("kwok-node-")]
    assert len(kwok) == settings.kwok_nodes


def test_should_run_coredns_as_real_containers_with_a_pod_address_on_the_bridge(
    node_kube: Kube, settings: LocalSettings
) -> None:
    pods = json.loads(
        node_kube.kubectl("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns",
                          "-o", "json").stdout
    )["items"]  # fmt: skip

    (pod,) = pods
    assert pod["spec"]["nodeName"] == node_spec.NODE_NAME
    assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(node_spec.POD_CIDR)
    running = json.loads(crictl(settings, "ps", "--name", "coredns", "-o", "json"))
    states = [c["state"] for c in running["containers"]]
    assert states == ["CONTAINER_RUNNING"], "containerd runs no CoreDNS container"


def test_should_resolve_service_names_and_reach_a_service_from_a_restricted_pod(
    node_kube: Kube, local_images: dict[str, str], restricted_namespace: str
) -> None:
    url = "http://kube-dns.kube-system.svc.cluster.local:9153/metrics"
    pod = restricted_pod(
        "dns-check", local_images["chart-tests"], ["curl", "-sSf", "--max-time", "10", url]
    )
    apply(node_kube, restricted_namespace, pod)

    done = wait_phase(node_kube, restricted_namespace, "dns-check", ("Succeeded", "Failed"))
    logs = node_kube.kubectl("logs", "dns-check", "-n", restricted_namespace).stdout

    assert done["status"]["phase"] == "Succeeded", logs
    assert "coredns_dns_requests_total" in logs


def test_should_give_pods_no_route_off_the_machine(
    node_kube: Kube, local_images: dict[str, str], restricted_namespace: str
) -> None:
    # 192.0.2.1 is TEST-NET-1: even if a route existed, nothing real would answer there.
    pod = restricted_pod(
        "no-route", local_images["chart-tests"],
        ["sh", "-c", "curl -sS --max-time 3 http://192.0.2.1/ ; echo exit=$?"],
    )  # fmt: skip
    apply(node_kube, restricted_namespace, pod)

    wait_phase(node_kube, restricted_namespace, "no-route", ("Succeeded", "Failed"))
    logs = node_kube.kubectl("logs", "no-route", "-n", restricted_namespace).stdout

    assert "exit=7" in logs  # curl: could not connect (the pod has no route there)


@pytest.fixture
def sleeper(
    node_kube: Kube, local_images: dict[str, str], restricted_namespace: str
) -> Iterator[str]:
    pod = restricted_pod(
        "sleeper", local_images["chart-tests"],
        ["sh", "-c", "echo started; trap 'exit 0' TERM; while true; do sleep 1; done"],
    )  # fmt: skip
    apply(node_kube, restricted_namespace, pod)
    wait_phase(node_kube, restricted_namespace, "sleeper", ("Running",))
    yield "sleeper"


def test_should_serve_logs_and_exec_through_the_kubelet(
    node_kube: Kube, restricted_namespace: str, sleeper: str
) -> None:
    deadline = time.monotonic() + 30
    logs = ""
    while "started" not in logs and time.monotonic() < deadline:
        logs = node_kube.kubectl("logs", sleeper, "-n", restricted_namespace).stdout
        time.sleep(0.5)
    execd = node_kube.kubectl(
        "exec", sleeper, "-n", restricted_namespace, "--", "sh", "-c", "id -u; cat /etc/resolv.conf"
    ).stdout

    assert "started" in logs
    assert execd.splitlines()[0] == "10001"
    assert f"nameserver {node_spec.CLUSTER_DNS}" in execd
    assert "search" in execd and "svc.cluster.local" in execd


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def port_forward(kube: Kube, namespace: str, target: str, remote: int) -> Iterator[str]:
    """`kubectl port-forward` on 127.0.0.1; yields the local base URL."""
    local = _free_port()
    proc = subprocess.Popen(
        ["kubectl", f"--kubeconfig={kube.kubeconfig}", "port-forward", "-n", namespace,
         "--address=127.0.0.1", target, f"{local}:{remote}"],
        env=kube.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", local), 1):
                break
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.2)
        yield f"http://127.0.0.1:{local}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_should_port_forward_to_a_pod_over_loopback(node_kube: Kube) -> None:
    with port_forward(node_kube, "kube-system", "deployment/coredns", 8181) as base:
        response = httpx.get(f"{base}/ready", timeout=10)

    assert response.status_code == 200
