"""The real node's I/O shell: bring containerd, kubelet, kube-proxy and CoreDNS up, and
take every trace of them away again.

`up` is idempotent like the control plane's: a healthy component is left alone. `down`
leaves nothing the node made: no process, mount, network namespace, bridge, veth,
iptables chain or cgroup, and it puts back the sysctls `up` changed. What the pure
configuration is, and why, is in `llmops_infra.cluster.node_spec`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from llmops_infra.cluster import node_spec, processes, spec
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings

Report = Callable[[str], None]

CONTAINERD = "containerd"
KUBELET = "kubelet"
KUBE_PROXY = "kube-proxy"
COMPONENTS = (CONTAINERD, KUBELET, KUBE_PROXY)  # start order; stop in reverse


def node_layout(settings: LocalSettings, layout: spec.Layout) -> node_spec.NodeLayout:
    """Without built binaries in `layout` (status, down), the ones the last `up` used."""
    binaries = layout.binaries if layout.binaries.is_dir() else settings.node_dir / "bin"
    return node_spec.NodeLayout(
        root=settings.node_dir,
        binaries=binaries,
        pki=layout.pki,
        kubelet_kubeconfig=layout.kubeconfig("kubelet"),
        kube_proxy_kubeconfig=layout.kubeconfig("kube-proxy"),
        containerd_socket=settings.containerd_socket,
        containerd_metrics_port=settings.containerd_metrics_port,
        kubelet_port=settings.kubelet_port,
        kubelet_healthz_port=settings.kubelet_healthz_port,
        kube_proxy_healthz_port=settings.kube_proxy_healthz_port,
        kube_proxy_metrics_port=settings.kube_proxy_metrics_port,
        apiserver_port=settings.apiserver_port,
    )


def process_specs(node: node_spec.NodeLayout) -> dict[str, spec.ProcessSpec]:
    containerd = Path(shutil.which(CONTAINERD) or "/usr/bin/containerd")
    return {
        CONTAINERD: spec.ProcessSpec(
            CONTAINERD,
            node_spec.containerd_argv(node, containerd),
            f"http://127.0.0.1:{node.containerd_metrics_port}/v1/metrics",
            node.containerd_metrics_port,
            secure=False,
        ),
        KUBELET: spec.ProcessSpec(
            KUBELET,
            node_spec.kubelet_argv(node),
            f"http://127.0.0.1:{node.kubelet_healthz_port}/healthz",
            node.kubelet_healthz_port,
            secure=False,
        ),
        KUBE_PROXY: spec.ProcessSpec(
            KUBE_PROXY,
            node_spec.kube_proxy_argv(node),
            # /livez, not /healthz: /healthz also fails while an iptables sync is late
            # (a busy machine), which is no reason to restart kube-proxy.
            f"http://127.0.0.1:{node.kube_proxy_healthz_port}/livez",
            node.kube_proxy_healthz_port,
            secure=False,
        ),
    }


# -- prerequisites ----------------------------------------------------------------------


@dataclass(frozen=True)
class Prerequisite:
    name: str
    ok: bool
    detail: str
    fix: str


APT_FIX = "apt-get install containerd runc containernetworking-plugins iptables conntrack iproute2"


def prerequisites() -> list[Prerequisite]:
    """Everything the real node needs from the machine (none of it is changed here)."""
    found: list[Prerequisite] = []
    root = os.geteuid() == 0
    found.append(
        Prerequisite(
            "root",
            root,
            "running as root" if root else f"running as uid {os.geteuid()}",
            "run as root, or set LLMOPS_REAL_NODE=false for a kwok-only cluster",
        )
    )
    for tool in (CONTAINERD, "ctr", "iptables", "ip6tables", "iptables-save", "ip"):
        where = shutil.which(tool)
        found.append(Prerequisite(tool, where is not None, where or "not found", APT_FIX))
    found.append(
        Prerequisite(
            "runc",
            node_spec.RUNC.is_file(),
            str(node_spec.RUNC) if node_spec.RUNC.is_file() else "not found",
            APT_FIX,
        )
    )
    for plugin in node_spec.CNI_PLUGINS:
        path = node_spec.CNI_BIN_DIR / plugin
        found.append(
            Prerequisite(
                f"CNI plugin {plugin}",
                path.is_file(),
                str(path) if path.is_file() else "not found",
                APT_FIX,
            )
        )
    bridge_nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables").exists()
    found.append(
        Prerequisite(
            "br_netfilter",
            bridge_nf or _can_load_module("br_netfilter"),
            "loaded" if bridge_nf else "not loaded (cluster up loads it)",
            "modprobe br_netfilter (the kernel module for bridged traffic in iptables)",
        )
    )
    mountinfo = _read("/proc/self/mountinfo")
    cgroups = node_spec.cgroup_v1_roots(mountinfo)
    found.append(
        Prerequisite(
            "cgroup v1 hierarchies",
            bool(cgroups),
            f"{len(cgroups)} mounted" if cgroups else "none mounted",
            "a machine with cgroup v1 controllers mounted (kubelet runs with cgroupfs)",
        )
    )
    return found


def _can_load_module(name: str) -> bool:
    modules = Path(f"/lib/modules/{os.uname().release}")
    return modules.is_dir() and shutil.which("modprobe") is not None


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def check_prerequisites() -> None:
    missing = [p for p in prerequisites() if not p.ok and p.name != "br_netfilter"]
    if missing:
        first = missing[0]
        names = ", ".join(p.name for p in missing)
        raise LlmopsError("real node", f"missing: {names} ({first.detail})", first.fix)


# -- commands ---------------------------------------------------------------------------


def _run(argv: Sequence[str], what: str, check: bool = True, timeout: float = 60.0) -> str:
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as err:
        raise LlmopsError(what, f"{argv[0]} not found", APT_FIX) from err
    except subprocess.TimeoutExpired as err:
        raise LlmopsError(what, f"`{' '.join(argv)}` took over {timeout:.0f}s") from err
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise LlmopsError(what, f"`{' '.join(argv)}` failed: {detail[0]}")
    return done.stdout


# -- network ----------------------------------------------------------------------------


def _bridge_exists() -> bool:
    return Path(f"/sys/class/net/{node_spec.BRIDGE}").exists()


def leftovers(node: node_spec.NodeLayout) -> list[str]:
    """What a node that did not stop cleanly (killed, machine crash) left on this machine."""
    found = [
        f"mount {m}" for m in node_spec.mounts_under(_read("/proc/self/mountinfo"), [node.root])
    ]
    netns = _run(["ip", "netns", "list"], "netns", check=False).split()
    found += [f"netns {n}" for n in netns if n.startswith("cni-")]
    for save in ("iptables-save", "ip6tables-save"):
        found += [f"{save} {c}" for c in node_spec.owned_chains(_run([save], save, check=False))]
    found += [f"cgroup {d}" for d in _cgroup_dirs() if d.is_dir()]
    return found


def _check_pod_route() -> None:
    """The pod subnet must not be routed anywhere but our bridge."""
    routes = _run(["ip", "-o", "-4", "route", "show", "to", "match", node_spec.POD_CIDR], "routes")
    for line in routes.splitlines():
        fields = line.split()
        if fields[0] == node_spec.POD_CIDR and "dev" in fields:
            device = fields[fields.index("dev") + 1]
            if device != node_spec.BRIDGE:
                raise LlmopsError(
                    "pod network",
                    f"{node_spec.POD_CIDR} is already routed through {device}",
                    f"remove that route or interface (`ip route show {node_spec.POD_CIDR}`)",
                )


def ensure_network(node: node_spec.NodeLayout) -> None:
    """The bridge with the node address, the sysctls and our firewall chains."""
    _check_pod_route()
    if not Path("/proc/sys/net/bridge").exists():
        _run(["modprobe", "br_netfilter"], "br_netfilter")
    if not _bridge_exists():
        _run(["ip", "link", "add", node_spec.BRIDGE, "type", "bridge"], "bridge")
    addresses = _run(["ip", "-o", "-4", "addr", "show", "dev", node_spec.BRIDGE], "bridge")
    if f"{node_spec.NODE_IP}/" not in addresses:
        prefix = node_spec.POD_CIDR.split("/")[1]
        _run(
            ["ip", "addr", "add", f"{node_spec.NODE_IP}/{prefix}", "dev", node_spec.BRIDGE],
            "bridge",
        )
    _run(["ip", "link", "set", node_spec.BRIDGE, "up"], "bridge")
    _set_sysctls(node)
    _ensure_guard(node)


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name


def _set_sysctls(node: node_spec.NodeLayout) -> None:
    if not node.sysctl_record.is_file():
        before = {name: _sysctl_path(name).read_text().strip() for name in node_spec.SYSCTLS}
        node.sysctl_record.parent.mkdir(parents=True, exist_ok=True)
        node.sysctl_record.write_text(json.dumps(before, indent=2) + "\n")
    for name, value in node_spec.SYSCTLS.items():
        _sysctl_path(name).write_text(value)


def _restore_sysctls(node: node_spec.NodeLayout) -> None:
    if not node.sysctl_record.is_file():
        return
    for name, value in json.loads(node.sysctl_record.read_text()).items():
        with contextlib.suppress(OSError):
            _sysctl_path(name).write_text(value)
    node.sysctl_record.unlink()


def _ensure_guard(node: node_spec.NodeLayout) -> None:
    rules = node_spec.guard_rules(node.apiserver_port, node.kubelet_port)
    for tool in ("iptables", "ip6tables"):
        for chain, chain_rules in rules.items():
            _run([tool, "-N", chain], "firewall", check=False)
            _run([tool, "-F", chain], "firewall")
            for rule in chain_rules:
                _run([tool, "-A", chain, *rule], "firewall")
        for builtin, chain in node_spec.guard_jumps():
            probe = [tool, "-C", builtin, "-j", chain]
            if subprocess.run(probe, capture_output=True, check=False).returncode:
                _run([tool, "-I", builtin, "1", "-j", chain], "firewall")


def _remove_chains() -> list[str]:
    removed = []
    for save, tool in (("iptables-save", "iptables"), ("ip6tables-save", "ip6tables")):
        dump = _run([save], "firewall", check=False)
        removed += [f"{tool}:{chain}" for chain in node_spec.owned_chains(dump)]
        for command in node_spec.iptables_cleanup(dump):
            _run([tool, *command], "firewall", check=False)
    return removed


def _remove_network() -> list[str]:
    removed = []
    for name in _run(["ip", "netns", "list"], "netns", check=False).split("\n"):
        netns = name.split(" ")[0]
        if netns.startswith("cni-"):
            _run(["ip", "netns", "delete", netns], "netns", check=False)
            removed.append(f"netns {netns}")
    if _bridge_exists():
        ports = _run(["ip", "-o", "link", "show", "master", node_spec.BRIDGE], "bridge", False)
        for line in ports.splitlines():
            veth = line.split(":")[1].strip().split("@")[0]
            _run(["ip", "link", "delete", veth], "veth", check=False)
            removed.append(f"veth {veth}")
        _run(["ip", "link", "delete", node_spec.BRIDGE], "bridge", check=False)
        removed.append(f"bridge {node_spec.BRIDGE}")
    return removed


# -- cgroups and mounts -----------------------------------------------------------------


def _cgroup_dirs() -> list[Path]:
    roots = node_spec.cgroup_v1_roots(_read("/proc/self/mountinfo"))
    return [root / node_spec.CGROUP_ROOT for root in roots]


def ensure_cgroups() -> None:
    """kubelet's cgroup root (``cgroupRoot``) must exist in every hierarchy before it starts."""
    for directory in _cgroup_dirs():
        with contextlib.suppress(FileExistsError):
            directory.mkdir()


def _remove_cgroups() -> list[str]:
    removed = []
    for top in _cgroup_dirs():
        if not top.is_dir():
            continue
        tree = sorted(
            (p for p in [top, *top.rglob("*")] if p.is_dir()),
            key=lambda p: -len(p.parts),
        )
        for directory in tree:
            for pid in _read(str(directory / "cgroup.procs")).split():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(pid), signal.SIGKILL)
        for directory in tree:
            for _ in range(50):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)  # tasks killed a moment ago are still exiting
        removed.append(str(top))
    return removed


def _unmount_all(roots: Sequence[Path]) -> list[str]:
    points = node_spec.mounts_under(_read("/proc/self/mountinfo"), roots)
    for point in points:
        if subprocess.run(["umount", point], capture_output=True, check=False).returncode:
            _run(["umount", "-l", point], "unmount", check=False)
    return points


# -- containerd, images and pods --------------------------------------------------------


def write_configs(node: node_spec.NodeLayout, sandbox_image: str) -> None:
    node.root.mkdir(parents=True, exist_ok=True)
    link = node.root / "bin"  # `down` finds crictl and kube-proxy through it
    if link.resolve() != node.binaries.resolve():
        link.unlink(missing_ok=True)
        link.symlink_to(node.binaries)
    node.cni_conf_dir.mkdir(parents=True, exist_ok=True)
    node.pod_logs.mkdir(parents=True, exist_ok=True)
    _write_if_changed(
        node.containerd_config,
        node_spec.to_toml(node_spec.build_containerd_config(node, sandbox_image)),
    )
    _write_if_changed(
        node.cni_conf_dir / "10-llmops.conflist",
        json.dumps(node_spec.build_cni_conflist(node), indent=2) + "\n",
    )
    _write_if_changed(node.kubelet_config, yaml.safe_dump(node_spec.build_kubelet_config(node)))
    _write_if_changed(
        node.kube_proxy_config, yaml.safe_dump(node_spec.build_kube_proxy_config(node))
    )


def _write_if_changed(path: Path, text: str) -> None:
    """kube-proxy exits when its configuration file is written, even with the same text:
    a running node's files are only rewritten when they change."""
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


def ctr(node: node_spec.NodeLayout, *args: str) -> list[str]:
    return ["ctr", f"--address={node.containerd_socket}", "--namespace=k8s.io", *args]


def crictl(node: node_spec.NodeLayout, *args: str) -> list[str]:
    return [
        str(node.binaries / "crictl"),
        f"--runtime-endpoint=unix://{node.containerd_socket}",
        "--timeout=60s",
        *args,
    ]


def _remove_pods(node: node_spec.NodeLayout) -> int:
    """Stop and remove every pod sandbox through CRI: containerd runs CNI DEL for each,
    which frees its address and deletes its veth and network namespace."""
    if not (node.binaries / "crictl").is_file():
        return 0
    out = _run(crictl(node, "pods", "--quiet"), "crictl", check=False, timeout=90)
    pods = [line.strip() for line in out.splitlines() if line.strip()]
    for pod in pods:
        _run(crictl(node, "stopp", pod), "crictl", check=False, timeout=120)
        _run(crictl(node, "rmp", "--force", pod), "crictl", check=False, timeout=120)
    return len(pods)


def _kill_shims(node: node_spec.NodeLayout) -> int:
    """containerd's shims outlive containerd on purpose; ours name our socket."""
    killed = 0
    marker = str(node.containerd_socket).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"containerd-shim" in cmdline and marker in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
    return killed


# -- up / down / status -----------------------------------------------------------------


def _probe(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _start(
    layout: spec.Layout, component: spec.ProcessSpec, env: Mapping[str, str], timeout_s: float
) -> float:
    """Start `component` unless it is running and healthy; seconds it took (0 if running)."""
    if processes.running_pid(layout, component.name) is not None:
        # A running component gets a few seconds to answer before it is restarted.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _probe(component.health_url):
                return 0.0
            time.sleep(0.5)
        processes.stop(layout, component.name)
    started = time.monotonic()
    proc = processes.start(layout, component, env)

    def probe() -> tuple[bool, str]:
        return _probe(component.health_url), "health check failing"

    processes.wait_healthy(layout, component, proc, probe, timeout_s)
    return time.monotonic() - started


@dataclass(frozen=True)
class NodeImages:
    """The images the node itself runs: OCI archives to import, and two references."""

    archives: Sequence[Path]
    sandbox: str
    coredns: str


def _took(seconds: float) -> str:
    return f"healthy in {seconds:.1f}s" if seconds else "already running"


def up(
    settings: LocalSettings,
    layout: spec.Layout,
    api: httpx.Client,
    env: Mapping[str, str],
    images: NodeImages,
    *,
    report: Report | None = None,
) -> None:
    """Bring the real node up and wait until it is Ready and CoreDNS answers readiness.

    `images.archives` are imported into containerd (the pause and CoreDNS images at
    least) before kubelet starts.
    """
    say = report or (lambda _msg: None)
    check_prerequisites()
    node = node_layout(settings, layout)
    deadline = time.monotonic() + settings.node_up_timeout_s
    if processes.running_pid(layout, CONTAINERD) is None:
        stale = leftovers(node)
        if stale:
            say(f"removing what an earlier node left behind: {', '.join(stale[:6])}")
            down(settings, layout)
    ensure_network(node)
    ensure_cgroups()
    write_configs(node, images.sandbox)
    specs = process_specs(node)
    took = _start(layout, specs[CONTAINERD], env, deadline - time.monotonic())
    say(f"containerd: {_took(took)}")
    _import_images(node, images.archives, say)
    took = _start(layout, specs[KUBELET], env, max(5.0, deadline - time.monotonic()))
    say(f"kubelet: {_took(took)}")
    _wait_node_ready(api, layout, deadline)
    took = _start(layout, specs[KUBE_PROXY], env, max(5.0, deadline - time.monotonic()))
    say(f"kube-proxy: {_took(took)}")
    for manifest in node_spec.build_coredns_manifests(images.coredns):
        apply(api, manifest)
    _wait_coredns(api, layout, deadline)
    say(f"node {node_spec.NODE_NAME} Ready, CoreDNS ready at {node_spec.CLUSTER_DNS}")


def _import_images(node: node_spec.NodeLayout, archives: Sequence[Path], say: Report) -> None:
    for archive in archives:
        _run(
            ctr(node, "images", "import", "--no-unpack=false", str(archive)),
            "image import",
            timeout=600,
        )
    if archives:
        say(f"containerd: {len(archives)} images present")


def _wait_node_ready(api: httpx.Client, layout: spec.Layout, deadline: float) -> None:
    while time.monotonic() < deadline:
        response = api.get(f"/api/v1/nodes/{node_spec.NODE_NAME}")
        if response.status_code == 200 and _ready(response.json()):
            return
        time.sleep(0.5)
    raise LlmopsError(
        KUBELET,
        f"node {node_spec.NODE_NAME} not Ready in time: {processes.log_tail(layout.log(KUBELET))}",
        f"see {layout.log(KUBELET)} and {layout.log(CONTAINERD)}",
    )


def _ready(node: dict[str, Any]) -> bool:
    conditions = node.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _wait_coredns(api: httpx.Client, layout: spec.Layout, deadline: float) -> None:
    path = "/apis/apps/v1/namespaces/kube-system/deployments/coredns"
    detail = "no status yet"
    while time.monotonic() < deadline:
        response = api.get(path)
        if response.status_code == 200:
            status = response.json().get("status", {})
            if status.get("readyReplicas", 0) >= 1:
                return
            detail = _pod_problem(api) or "pod not ready yet"
        time.sleep(0.5)
    raise LlmopsError(
        "CoreDNS",
        f"not ready in time: {detail}",
        f"kubectl -n kube-system describe pod -l k8s-app=kube-dns; see {layout.log(KUBELET)}",
    )


def _pod_problem(api: httpx.Client) -> str:
    pods = (
        api.get("/api/v1/namespaces/kube-system/pods", params={"labelSelector": "k8s-app=kube-dns"})
        .json()
        .get("items", [])
    )
    for pod in pods:
        for status in pod.get("status", {}).get("containerStatuses", []):
            waiting = status.get("state", {}).get("waiting")
            if waiting:
                return f"{waiting.get('reason')}: {waiting.get('message', '')}"[:200]
    return ""


KIND_PATHS = {
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts/{name}",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps/{name}",
    "Service": "/api/v1/namespaces/{ns}/services/{name}",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments/{name}",
    "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}",
    "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{name}",
}


def apply(api: httpx.Client, manifest: dict[str, Any]) -> None:
    """Server-side apply (field manager ``llmops``): creates, or updates what changed."""
    meta = manifest["metadata"]
    path = KIND_PATHS[manifest["kind"]].format(ns=meta.get("namespace", ""), name=meta["name"])
    response = api.patch(
        path,
        params={"fieldManager": "llmops", "force": "true"},
        content=json.dumps(manifest),
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    if response.status_code not in (200, 201):
        raise LlmopsError(
            "local cluster",
            f"cannot apply {manifest['kind']} {meta['name']}: {response.text[:200]}",
        )


@dataclass(frozen=True)
class NodeComponent:
    name: str
    pid: int | None
    healthy: bool


def status(settings: LocalSettings, layout: spec.Layout) -> list[NodeComponent]:
    node = node_layout(settings, layout)
    found = []
    for name, component in process_specs(node).items():
        pid = processes.running_pid(layout, name)
        found.append(NodeComponent(name, pid, pid is not None and _probe(component.health_url)))
    return found


def down(settings: LocalSettings, layout: spec.Layout) -> list[str]:
    """Stop the node and remove everything it made; returns what was stopped or removed."""
    node = node_layout(settings, layout)
    done: list[str] = []
    for name in (KUBE_PROXY, KUBELET):
        if processes.stop(layout, name):
            done.append(name)
    if processes.running_pid(layout, CONTAINERD) is not None:
        pods = _remove_pods(node)
        if pods:
            done.append(f"{pods} pod sandboxes")
    if processes.stop(layout, CONTAINERD):
        done.append(CONTAINERD)
    if _kill_shims(node):
        done.append("containerd shims")
    done += _remove_cgroups()
    done += _unmount_all([node.root])
    if (node.binaries / "kube-proxy").is_file():
        _run(node_spec.kube_proxy_cleanup_argv(node), "kube-proxy --cleanup", check=False)
    done += _remove_chains()
    done += _remove_network()
    _restore_sysctls(node)
    shutil.rmtree(node.cni_ipam_dir, ignore_errors=True)
    return done
