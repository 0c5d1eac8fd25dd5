"""The real node, as data: containerd, CNI, kubelet, kube-proxy and CoreDNS configuration.

The local cluster runs one node whose pods are real containers: Debian's containerd over
CRI, runc, the CNI bridge plugin with host-local IPAM on a bridge the cluster creates
(``llmops0``, 10.89.0.1/24), kubelet and kube-proxy built from the pinned Kubernetes
module, and CoreDNS in a pod. Everything here is a pure function of a `NodeLayout`, so
every flag is unit-tested as plain data; `llmops_infra.cluster.node` does the I/O.

Two things differ from a production node, on purpose:

- cgroups are v1 on these machines, which kubelet 1.35 refuses unless its configuration
  sets ``failCgroupV1: false`` (KEP-5573). That switch is set here; production nodes
  should run cgroup v2.
- the node carries the taint ``llmops.dev/real-node=true:NoSchedule`` and the label
  ``llmops.dev/node=real``: the kwok fake nodes beside it keep taking the pods of the
  logic and scale tests (fake GPUs, no images), and only pods that tolerate the taint
  (the local values overlay, CoreDNS) land on the real node.

Pod traffic stays on this machine: pods get routes to their own subnet and the Service
range only (no default route), the bridge does no masquerading, and forwarding in or out
of the bridge is dropped (`LLMOPS-FORWARD`). The API server and kubelet ports are dropped
on every interface but loopback and the bridge (`LLMOPS-INPUT`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops_loadtest.k8s.security import build_restricted_pod_security_context

NODE_NAME = "llmops-node"
BRIDGE = "llmops0"
NODE_IP = "10.89.0.1"
POD_CIDR = "10.89.0.0/24"
POD_RANGE_START = "10.89.0.10"
SERVICE_CIDR = "10.96.0.0/16"
CLUSTER_DNS = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
NODE_LABEL = ("llmops.dev/node", "real")
NODE_TAINT = {"key": "llmops.dev/real-node", "value": "true", "effect": "NoSchedule"}
CNI_BIN_DIR = Path("/usr/lib/cni")
RUNC = Path("/usr/sbin/runc")
CNI_PLUGINS = ("bridge", "host-local", "loopback")

# The sysctls the node needs, and the value each must have while it runs. `down` puts
# back what was there before (recorded by `up`).
SYSCTLS = {
    # Service traffic from a pod to a pod on the same bridge is DNAT-ed by kube-proxy and
    # routed back out of the bridge.
    "net/ipv4/ip_forward": "1",
    # kube-proxy's rules must see bridged traffic (pod to Service to pod on one bridge).
    "net/bridge/bridge-nf-call-iptables": "1",
}

INPUT_CHAIN = "LLMOPS-INPUT"
FORWARD_CHAIN = "LLMOPS-FORWARD"
# Chains the node's components make; `down` removes them from every table (v4 and v6).
OWNED_CHAIN_PREFIXES = ("KUBE-", "LLMOPS-", "CNI-")


@dataclass(frozen=True)
class NodeLayout:
    """Files, binaries and ports of the real node."""

    root: Path  # the node folder: containerd/, kubelet/, cni/, logs under the cluster's
    binaries: Path  # kubelet, kube-proxy, crictl
    pki: Path  # the cluster's certificate folder (ca.crt)
    kubelet_kubeconfig: Path
    kube_proxy_kubeconfig: Path
    containerd_socket: Path
    containerd_metrics_port: int
    kubelet_port: int
    kubelet_healthz_port: int
    kube_proxy_healthz_port: int
    kube_proxy_metrics_port: int
    apiserver_port: int

    @property
    def containerd_config(self) -> Path:
        return self.root / "containerd.toml"

    @property
    def containerd_root(self) -> Path:
        return self.root / "containerd" / "root"

    @property
    def containerd_state(self) -> Path:
        return self.root / "containerd" / "state"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.root / "cni" / "ipam"

    @property
    def kubelet_root(self) -> Path:
        return self.root / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.root / "kubelet.yaml"

    @property
    def kube_proxy_config(self) -> Path:
        return self.root / "kube-proxy.yaml"

    @property
    def pod_logs(self) -> Path:
        return self.root / "pod-logs"

    @property
    def sysctl_record(self) -> Path:
        return self.root / "sysctl-before.json"


# -- containerd -------------------------------------------------------------------------


def build_containerd_config(layout: NodeLayout, sandbox_image: str) -> dict[str, Any]:
    """containerd's config (version 2), with every path under the node folder."""
    cri = {
        "sandbox_image": sandbox_image,
        # Lowering oom_score_adj is denied here: without this every sandbox fails with
        # "runc create failed: ... can't get final child's PID from pipe: EOF".
        "restrict_oom_score_adj": True,
        "enable_selinux": False,
        # Streaming (logs, exec, port-forward) is proxied by kubelet; keep it on loopback.
        "stream_server_address": "127.0.0.1",
        "stream_server_port": "0",
        "containerd": {
            "snapshotter": "overlayfs",
            "default_runtime_name": "runc",
            "runtimes": {
                "runc": {
                    "runtime_type": "io.containerd.runc.v2",
                    "options": {"SystemdCgroup": False, "BinaryName": str(RUNC)},
                }
            },
        },
        "cni": {"bin_dir": str(CNI_BIN_DIR), "conf_dir": str(layout.cni_conf_dir)},
    }
    return {
        "version": 2,
        "root": str(layout.containerd_root),
        "state": str(layout.containerd_state),
        # No registry is reachable and nothing here needs these snapshotters.
        "disabled_plugins": [
            "io.containerd.snapshotter.v1.aufs",
            "io.containerd.snapshotter.v1.btrfs",
            "io.containerd.snapshotter.v1.devmapper",
            "io.containerd.snapshotter.v1.zfs",
        ],
        "grpc": {"address": str(layout.containerd_socket)},
        "ttrpc": {"address": f"{layout.containerd_socket}.ttrpc"},
        # The metrics endpoint doubles as containerd's health check.
        "metrics": {"address": f"127.0.0.1:{layout.containerd_metrics_port}"},
        "plugins": {
            "io.containerd.grpc.v1.cri": cri,
            "io.containerd.internal.v1.opt": {"path": str(layout.root / "containerd" / "opt")},
        },
    }


def containerd_argv(layout: NodeLayout, containerd: Path) -> list[str]:
    return [str(containerd), f"--config={layout.containerd_config}", "--log-level=warn"]


def to_toml(data: Mapping[str, Any]) -> str:
    """A TOML document from nested dicts of strings, numbers, booleans and string lists
    (all containerd's config needs; no TOML writer is among our dependencies)."""
    lines: list[str] = []
    _toml_table(data, (), lines)
    return "\n".join(lines).strip() + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def _toml_table(data: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    scalars = {k: v for k, v in data.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in data.items() if isinstance(v, Mapping)}
    if path and scalars:
        lines.append("")
        lines.append("[" + ".".join(_toml_key(p) for p in path) + "]")
    for key, value in scalars.items():
        lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in tables.items():
        _toml_table(value, (*path, key), lines)


# -- CNI --------------------------------------------------------------------------------


def build_cni_conflist(layout: NodeLayout) -> dict[str, Any]:
    """The pod network: one bridge, host-local addresses, routes to the cluster only."""
    return {
        "cniVersion": "0.4.0",
        "name": "llmops",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,  # nothing leaves the machine, so nothing is masqueraded
                "hairpinMode": True,  # a pod reaching itself through its Service
                "ipam": {
                    "type": "host-local",
                    "ranges": [
                        [
                            {
                                "subnet": POD_CIDR,
                                "gateway": NODE_IP,
                                "rangeStart": POD_RANGE_START,
                            }
                        ]
                    ],
                    # No default route: a pod reaches its subnet and the Service range.
                    "routes": [{"dst": SERVICE_CIDR}],
                    "dataDir": str(layout.cni_ipam_dir),
                },
            }
        ],
    }


# -- kubelet ----------------------------------------------------------------------------


KUBELET_SYNC_S = 10


def build_kubelet_config(layout: NodeLayout) -> dict[str, Any]:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": layout.kubelet_port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": layout.kubelet_healthz_port,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(layout.pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": "cgroupfs",  # no systemd on these machines
        # cgroup v1 here; kubelet 1.35 refuses it without this switch (KEP-5573).
        "failCgroupV1": False,
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "clusterDNS": [CLUSTER_DNS],
        "clusterDomain": CLUSTER_DOMAIN,
        # Pods get only cluster DNS: no upstream resolver, nothing resolved off the machine.
        "resolvConf": "",
        "failSwapOn": False,
        "podLogsDir": str(layout.pod_logs),
        "registerWithTaints": [NODE_TAINT],
        # Images cannot be pulled again (no registry is reachable): never collect them.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "200Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
        },
        # How often the kubelet resyncs each pod, a mounted ConfigMap's files with it (1m by
        # default): the gateway's routing table reaches its pod within this after the operator
        # writes it.
        "syncFrequency": f"{KUBELET_SYNC_S}s",
        "runtimeRequestTimeout": "10m",
        "serializeImagePulls": False,
        "maxPods": 110,
        "shutdownGracePeriod": "0s",
    }


def kubelet_argv(layout: NodeLayout) -> list[str]:
    return [
        str(layout.binaries / "kubelet"),
        f"--config={layout.kubelet_config}",
        f"--kubeconfig={layout.kubelet_kubeconfig}",
        f"--root-dir={layout.kubelet_root}",
        f"--cert-dir={layout.kubelet_root / 'pki'}",
        f"--node-ip={NODE_IP}",
        f"--hostname-override={NODE_NAME}",
        f"--node-labels={NODE_LABEL[0]}={NODE_LABEL[1]}",
        "--v=1",
    ]


# -- kube-proxy -------------------------------------------------------------------------


def build_kube_proxy_config(layout: NodeLayout) -> dict[str, Any]:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(layout.kube_proxy_kubeconfig)},
        "mode": "iptables",
        "hostnameOverride": NODE_NAME,
        "bindAddress": NODE_IP,
        "healthzBindAddress": f"127.0.0.1:{layout.kube_proxy_healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{layout.kube_proxy_metrics_port}",
        "clusterCIDR": POD_CIDR,
        "detectLocalMode": "ClusterCIDR",
        # Leave the machine's conntrack limits and timeouts as they are.
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
        "oomScoreAdj": 0,  # lowering it is denied here
        # NodePorts answer on the bridge address only, never on the machine's interfaces.
        "nodePortAddresses": [f"{NODE_IP}/32"],
        "iptables": {"localhostNodePorts": False, "masqueradeAll": False},
    }


def kube_proxy_argv(layout: NodeLayout) -> list[str]:
    return [str(layout.binaries / "kube-proxy"), f"--config={layout.kube_proxy_config}", "--v=1"]


def kube_proxy_cleanup_argv(layout: NodeLayout) -> list[str]:
    return [str(layout.binaries / "kube-proxy"), "--cleanup", "--v=1"]


# -- host firewall (our own chains) -----------------------------------------------------


def guard_rules(apiserver_port: int, kubelet_port: int) -> dict[str, list[list[str]]]:
    """Rules of our two chains in the filter table (iptables arguments after the chain)."""
    ports = f"{apiserver_port},{kubelet_port}"
    return {
        INPUT_CHAIN: [
            ["-i", "lo", "-j", "RETURN"],
            ["-i", BRIDGE, "-j", "RETURN"],
            ["-p", "tcp", "-m", "multiport", "--dports", ports, "-j", "DROP"],
        ],
        FORWARD_CHAIN: [
            ["-i", BRIDGE, "-o", BRIDGE, "-j", "RETURN"],
            ["-i", BRIDGE, "-j", "DROP"],
            ["-o", BRIDGE, "-j", "DROP"],
        ],
    }


def guard_jumps() -> list[tuple[str, str]]:
    """(builtin chain, our chain) jumps inserted first in the filter table."""
    return [("INPUT", INPUT_CHAIN), ("FORWARD", FORWARD_CHAIN)]


def iptables_cleanup(save_output: str) -> list[list[str]]:
    """The iptables commands (arguments after ``iptables``) that remove every chain we own
    from one ``iptables-save`` dump: jumps into them from other chains first, then the
    chains are flushed, then deleted. Rules of other programs are left alone."""
    table = ""
    owned: dict[str, list[str]] = {}
    jumps: list[list[str]] = []
    for line in save_output.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith(":"):
            chain = line[1:].split()[0]
            if chain.startswith(OWNED_CHAIN_PREFIXES):
                owned.setdefault(table, []).append(chain)
        elif line.startswith("-A "):
            parts = line.split()
            chain = parts[1]
            target = _jump_target(parts)
            if (
                target is not None
                and target.startswith(OWNED_CHAIN_PREFIXES)
                and not chain.startswith(OWNED_CHAIN_PREFIXES)
            ):
                jumps.append(["-t", table, "-D", chain, *parts[2:]])
    commands = list(jumps)
    for table_name, chains in owned.items():
        commands += [["-t", table_name, "-F", chain] for chain in chains]
    for table_name, chains in owned.items():
        commands += [["-t", table_name, "-X", chain] for chain in chains]
    return commands


def _jump_target(parts: list[str]) -> str | None:
    for flag in ("-j", "-g"):
        if flag in parts:
            index = parts.index(flag)
            if index + 1 < len(parts):
                return parts[index + 1]
    return None


def owned_chains(save_output: str) -> list[str]:
    """``table/chain`` of every chain we own in an ``iptables-save`` dump."""
    table = ""
    found = []
    for line in save_output.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith(":") and line[1:].split()[0].startswith(OWNED_CHAIN_PREFIXES):
            found.append(f"{table}/{line[1:].split()[0]}")
    return found


# -- mounts and cgroups -----------------------------------------------------------------


def mounts_under(mountinfo: str, roots: Iterable[Path]) -> list[str]:
    """Mount points at or below any of `roots`, deepest first (the order to unmount)."""
    prefixes = [str(r).rstrip("/") for r in roots]
    points = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        point = fields[4].replace("\\040", " ")
        if any(point == p or point.startswith(p + "/") for p in prefixes):
            points.append(point)
    return sorted(set(points), key=lambda p: (-p.count("/"), p))


CGROUP_ROOT = "llmops"


def cgroup_v1_roots(mountinfo: str) -> list[Path]:
    """The cgroup v1 hierarchies' mount points (one per controller set)."""
    roots = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        if right.split()[:1] == ["cgroup"]:
            roots.append(Path(left.split()[4]))
    return roots


# -- CoreDNS ----------------------------------------------------------------------------

COREDNS_PORT = 1053  # unprivileged: the pod runs as non-root under "restricted"

COREFILE = f"""\
.:{COREDNS_PORT} {{
    errors
    health :8080
    ready :8181
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }}
    prometheus :9153
    cache 30
    loop
    reload
    loadbalance
}}
"""


def build_coredns_manifests(image: str) -> list[dict[str, Any]]:
    """CoreDNS as a Deployment on the real node, its RBAC, and the kube-dns Service.

    No ``forward``: names outside the cluster are not resolved (nothing leaves the machine).
    """
    labels = {"k8s-app": "kube-dns"}
    meta = {"namespace": "kube-system", "labels": labels}
    container = {
        "name": "coredns",
        "image": image,
        "imagePullPolicy": "Never",
        "args": ["-conf", "/etc/coredns/Corefile"],
        "ports": [
            {"name": "dns", "containerPort": COREDNS_PORT, "protocol": "UDP"},
            {"name": "dns-tcp", "containerPort": COREDNS_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
        ],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 10},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}, "periodSeconds": 2},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns", "readOnly": True}],
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "coredns", **meta},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "system:coredns", "labels": labels},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["endpoints", "services", "pods", "namespaces"],
                    "verbs": ["list", "watch"],
                },
                {
                    "apiGroups": ["discovery.k8s.io"],
                    "resources": ["endpointslices"],
                    "verbs": ["list", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:coredns", "labels": labels},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:coredns",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "coredns", **meta},
            "data": {"Corefile": COREFILE},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "coredns", **meta},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": "coredns",
                        "priorityClassName": "system-cluster-critical",
                        "dnsPolicy": "Default",
                        "nodeSelector": {NODE_LABEL[0]: NODE_LABEL[1]},
                        "tolerations": [{**NODE_TAINT, "operator": "Equal"}],
                        "securityContext": build_restricted_pod_security_context(
                            65532, run_as_group=65532
                        ),
                        "containers": [container],
                        "volumes": [{"name": "config", "configMap": {"name": "coredns"}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kube-dns", **meta},
            "spec": {
                "clusterIP": CLUSTER_DNS,
                "selector": labels,
                "ports": [
                    {"name": "dns", "port": 53, "targetPort": COREDNS_PORT, "protocol": "UDP"},
                    {"name": "dns-tcp", "port": 53, "targetPort": COREDNS_PORT, "protocol": "TCP"},
                    {"name": "metrics", "port": 9153, "targetPort": 9153, "protocol": "TCP"},
                ],
            },
        },
    ]
