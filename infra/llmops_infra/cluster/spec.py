"""Pure builders for the local control plane: command lines, kubeconfigs, fake nodes.

Nothing here touches files, processes or the network, so every flag we pass is
unit-tested as plain data.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVICE_CIDR = "10.96.0.0/16"
CLUSTER_DOMAIN = "cluster.local"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"


@dataclass(frozen=True)
class Layout:
    """Files and ports of one local cluster (built from `LocalSettings` by the caller)."""

    state: Path  # cluster folder: pki/, etcd/, logs/, run/, *.kubeconfig
    binaries: Path  # folder with etcd, kube-apiserver, ... kwok
    kwok_config: Path
    etcd_client_port: int
    etcd_peer_port: int
    apiserver_port: int
    controller_manager_port: int
    scheduler_port: int
    kwok_port: int

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    def kubeconfig(self, who: str) -> Path:
        return self.state / f"{who}.kubeconfig"

    def log(self, component: str) -> Path:
        return self.state / "logs" / f"{component}.log"

    def pidfile(self, component: str) -> Path:
        return self.state / "run" / f"{component}.pid"


@dataclass(frozen=True)
class ProcessSpec:
    """One long-running component: how to start it and how to tell it is healthy."""

    name: str
    argv: list[str]
    health_url: str
    port: int  # the port it must be able to bind (checked before start)
    secure: bool  # health URL needs TLS with the cluster CA


def _pki(layout: Layout, name: str) -> str:
    return str(layout.pki / name)


def build_etcd(layout: Layout) -> ProcessSpec:
    client = f"http://127.0.0.1:{layout.etcd_client_port}"
    peer = f"http://127.0.0.1:{layout.etcd_peer_port}"
    return ProcessSpec(
        name="etcd",
        argv=[
            str(layout.binaries / "etcd"),
            "--name=llmops",
            f"--data-dir={layout.state / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=llmops={peer}",
            # a test cluster: fsync is the slowest part of etcd and buys nothing here.
            "--unsafe-no-fsync",
            "--quota-backend-bytes=2147483648",
            "--log-level=warn",
        ],
        health_url=f"{client}/health",
        port=layout.etcd_client_port,
        secure=False,
    )


def build_apiserver(layout: Layout, node_ip: str | None = None) -> ProcessSpec:
    """With `node_ip` (a real node runs), the API server listens on every address (pods
    reach it through the `kubernetes` Service at `node_ip`; the node's firewall chain drops
    the port on every interface but loopback and the node's bridge) and reaches kubelets."""
    serving = (
        ["--bind-address=127.0.0.1", "--advertise-address=127.0.0.1"]
        if node_ip is None
        else [
            "--bind-address=0.0.0.0",
            f"--advertise-address={node_ip}",
            f"--kubelet-client-certificate={_pki(layout, 'apiserver-kubelet-client.crt')}",
            f"--kubelet-client-key={_pki(layout, 'apiserver-kubelet-client.key')}",
            "--kubelet-preferred-address-types=InternalIP",
        ]
    )
    return ProcessSpec(
        name="kube-apiserver",
        argv=[
            str(layout.binaries / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{layout.etcd_client_port}",
            *serving,
            f"--secure-port={layout.apiserver_port}",
            f"--tls-cert-file={_pki(layout, 'apiserver.crt')}",
            f"--tls-private-key-file={_pki(layout, 'apiserver.key')}",
            f"--client-ca-file={_pki(layout, 'ca.crt')}",
            f"--service-account-key-file={_pki(layout, 'sa.pub')}",
            f"--service-account-signing-key-file={_pki(layout, 'sa.key')}",
            f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            "--allow-privileged=true",
            "--anonymous-auth=false",
            "--profiling=false",
            # Nobody reads apiserver audit or OpenAPI v2 aggregation here; PodSecurity stays
            # on (it is enabled by default) so charts can be tested on restricted namespaces.
            "--enable-admission-plugins=NodeRestriction",
            # The aggregation layer's front proxy; without it every controller logs, many
            # times a minute, that the requestheader CA bundle is missing.
            f"--requestheader-client-ca-file={_pki(layout, 'ca.crt')}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={_pki(layout, 'front-proxy-client.crt')}",
            f"--proxy-client-key-file={_pki(layout, 'front-proxy-client.key')}",
            "--v=0",
        ],
        health_url=f"{layout.server}/readyz",
        port=layout.apiserver_port,
        secure=True,
    )


def _controller_flags(layout: Layout, who: str, port: int) -> list[str]:
    """What the controller manager and the scheduler share: identity and serving."""
    kubeconfig = layout.kubeconfig(who)
    return [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        # Serve with the CA-signed loopback certificate, so health checks verify TLS.
        f"--tls-cert-file={_pki(layout, 'apiserver.crt')}",
        f"--tls-private-key-file={_pki(layout, 'apiserver.key')}",
        "--leader-elect=false",
        "--v=0",
    ]


def build_controller_manager(layout: Layout) -> ProcessSpec:
    return ProcessSpec(
        name="kube-controller-manager",
        argv=[
            str(layout.binaries / "kube-controller-manager"),
            *_controller_flags(layout, "controller-manager", layout.controller_manager_port),
            f"--cluster-signing-cert-file={_pki(layout, 'ca.crt')}",
            f"--cluster-signing-key-file={_pki(layout, 'ca.key')}",
            f"--root-ca-file={_pki(layout, 'ca.crt')}",
            f"--service-account-private-key-file={_pki(layout, 'sa.key')}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            # Each controller acts as its own ServiceAccount, so RBAC applies as in production.
            "--use-service-account-credentials=true",
        ],
        health_url=f"https://127.0.0.1:{layout.controller_manager_port}/healthz",
        port=layout.controller_manager_port,
        secure=True,
    )


def build_scheduler(layout: Layout) -> ProcessSpec:
    return ProcessSpec(
        name="kube-scheduler",
        argv=[
            str(layout.binaries / "kube-scheduler"),
            *_controller_flags(layout, "scheduler", layout.scheduler_port),
        ],
        health_url=f"https://127.0.0.1:{layout.scheduler_port}/healthz",
        port=layout.scheduler_port,
        secure=True,
    )


def build_kwok(layout: Layout) -> ProcessSpec:
    return ProcessSpec(
        name="kwok",
        argv=[
            str(layout.binaries / "kwok"),
            f"--config={layout.kwok_config}",
            f"--kubeconfig={layout.kubeconfig('kwok')}",
            f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
            "--node-lease-duration-seconds=40",
            f"--server-address=127.0.0.1:{layout.kwok_port}",
            "--cidr=10.244.0.0/16",
            "--node-ip=127.0.0.1",
        ],
        health_url=f"http://127.0.0.1:{layout.kwok_port}/healthz",
        port=layout.kwok_port,
        secure=False,
    )


def build_components(layout: Layout, node_ip: str | None = None) -> list[ProcessSpec]:
    """Every control-plane component, in start order (stop in reverse)."""
    return [
        build_etcd(layout),
        build_apiserver(layout, node_ip),
        build_controller_manager(layout),
        build_scheduler(layout),
        build_kwok(layout),
    ]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def build_kubeconfig(
    *,
    cluster: str,
    server: str,
    ca_pem: bytes,
    user: str,
    cert_pem: bytes,
    key_pem: bytes,
    impersonate: str | None = None,
    impersonate_groups: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A self-contained kubeconfig (certificates inlined) with one context named `cluster`.

    With `impersonate`, every request is sent as that user (e.g. a ServiceAccount) on top of
    the client certificate's identity, which must be allowed to impersonate.
    """
    auth: dict[str, Any] = {
        "client-certificate-data": _b64(cert_pem),
        "client-key-data": _b64(key_pem),
    }
    if impersonate:
        auth["as"] = impersonate
        if impersonate_groups:
            auth["as-groups"] = list(impersonate_groups)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster,
                "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)},
            }
        ],
        "users": [{"name": user, "user": auth}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
    }


def service_account_identity(namespace: str, name: str) -> tuple[str, tuple[str, ...]]:
    """The user and groups a ServiceAccount's token authenticates as."""
    return (
        f"system:serviceaccount:{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
    )


def build_fake_node(name: str, gpus: int = 8) -> dict[str, Any]:
    """A Node that kwok manages: generous capacity, fake NVIDIA GPUs, no taints.

    No taint on purpose: the local cluster has only fake nodes, and charts must install
    unchanged, without tolerations only tests would need.
    """
    capacity = {
        "cpu": "32",
        "memory": "256Gi",
        "pods": "110",
        "ephemeral-storage": "1Ti",
        "nvidia.com/gpu": str(gpus),
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
                "nvidia.com/gpu.present": "true",
            },
        },
        "spec": {},
        "status": {"capacity": capacity, "allocatable": capacity},
    }


STORAGE_CLASS = "standard"


def build_storage_class() -> dict[str, Any]:
    """The default StorageClass: claims bind to the pre-made volume pool right away.

    There is no volume provisioner without a container runtime, so `up` creates a pool of
    PersistentVolumes and the real PV controller binds claims to them, as it would bind
    claims to pre-provisioned volumes on any cluster.
    """
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "Immediate",
        "reclaimPolicy": "Retain",
    }


def build_pool_volume(index: int, folder: Path, size: str = "1Ti") -> dict[str, Any]:
    """One volume of the pool: a folder under `folder`, large enough for any claim (the
    size is nominal: it is the machine's disk)."""
    name = f"llmops-pool-{index:02d}"
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {"llmops.dev/volume-pool": "local"}},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": STORAGE_CLASS,
            # Mounted by pods on the real node; on kwok nodes nothing mounts it.
            "hostPath": {"path": str(folder / name), "type": "DirectoryOrCreate"},
        },
    }
