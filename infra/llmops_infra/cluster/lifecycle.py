"""`up`, `down` and `status` of the local cluster: the I/O shell around `spec`.

`up` is idempotent: a component already running and healthy is left alone, a missing
one is started, and the call returns once the API server is ready, every fake node is
Ready and the `default` ServiceAccount exists (pods can be created).
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from llmops_infra import images
from llmops_infra.cluster import build, node, node_spec, pki, processes, spec
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings

Report = Callable[[str], None]


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    healthy: bool
    detail: str


@dataclass(frozen=True)
class ClusterStatus:
    components: list[ComponentStatus]
    nodes: dict[str, bool]  # node name -> Ready
    version: str | None
    kubeconfig: Path

    @property
    def is_healthy(self) -> bool:
        return (
            all(c.healthy for c in self.components)
            and bool(self.nodes)
            and all(self.nodes.values())
        )


def build_layout(
    settings: LocalSettings, binaries: build.ControlPlaneBinaries | None = None
) -> spec.Layout:
    """The cluster's files and ports. Without `binaries` (status, down) nothing is started,
    so where the binaries live does not matter: pid files name what was started."""
    where = binaries or build.ControlPlaneBinaries(Path("/nonexistent"))
    return spec.Layout(
        state=settings.cluster_dir,
        binaries=where.bin_dir,
        kwok_config=where.kwok_config,
        etcd_client_port=settings.etcd_client_port,
        etcd_peer_port=settings.etcd_peer_port,
        apiserver_port=settings.apiserver_port,
        controller_manager_port=settings.controller_manager_port,
        scheduler_port=settings.scheduler_port,
        kwok_port=settings.kwok_port,
    )


def tls_context(layout: spec.Layout, client: str | None = "admin") -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(layout.pki / "ca.crt"))
    if client:
        ctx.load_cert_chain(layout.pki / f"{client}.crt", layout.pki / f"{client}.key")
    return ctx


def write_kubeconfigs(settings: LocalSettings, layout: spec.Layout) -> None:
    ca = (layout.pki / "ca.crt").read_bytes()
    for client in pki.CLIENTS:
        if client.stem == "front-proxy-client":
            continue  # not a kubeconfig user: the API server presents it to aggregated APIs
        config = spec.build_kubeconfig(
            cluster=settings.cluster_name,
            server=layout.server,
            ca_pem=ca,
            user=client.user,
            cert_pem=(layout.pki / f"{client.stem}.crt").read_bytes(),
            key_pem=(layout.pki / f"{client.stem}.key").read_bytes(),
        )
        _write_private(layout.kubeconfig(client.stem), yaml.safe_dump(config, sort_keys=False))


def write_impersonating_kubeconfig(
    settings: LocalSettings, namespace: str, service_account: str, out: Path
) -> Path:
    """A kubeconfig that acts as `namespace/service_account` (through impersonation)."""
    layout = build_layout(settings)
    if not (layout.pki / "admin.crt").is_file():
        raise LlmopsError("local cluster", "has no certificates yet", "run `llmops cluster up`")
    user, groups = spec.service_account_identity(namespace, service_account)
    config = spec.build_kubeconfig(
        cluster=settings.cluster_name,
        server=layout.server,
        ca_pem=(layout.pki / "ca.crt").read_bytes(),
        user=user,
        cert_pem=(layout.pki / "admin.crt").read_bytes(),
        key_pem=(layout.pki / "admin.key").read_bytes(),
        impersonate=user,
        impersonate_groups=groups,
    )
    _write_private(out, yaml.safe_dump(config, sort_keys=False))
    return out


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    tmp.replace(path)


def _probe(url: str, ctx: ssl.SSLContext | None) -> tuple[bool, str]:
    try:
        response = httpx.get(url, verify=ctx if ctx else True, timeout=2.0)
    except httpx.HTTPError as err:
        return False, type(err).__name__
    return response.status_code == 200, f"HTTP {response.status_code}"


def _wait_healthy(
    layout: spec.Layout,
    component: spec.ProcessSpec,
    proc: subprocess.Popen[bytes],
    ctx: ssl.SSLContext,
    timeout_s: float,
) -> None:
    def probe() -> tuple[bool, str]:
        return _probe(component.health_url, ctx if component.secure else None)

    processes.wait_healthy(layout, component, proc, probe, timeout_s)


def up(
    settings: LocalSettings,
    env: Mapping[str, str],
    report: Report | None = None,
    progress: build.Progress | None = None,
    fresh: bool = False,
) -> ClusterStatus:
    """Bring the local cluster up (building binaries on first use) and wait until usable.

    With `fresh`, a cluster that is not running starts from empty etcd data (certificates
    are kept), so a test session does not inherit objects from an earlier one.
    """
    say = report or (lambda _msg: None)
    binaries = build.ensure_binaries(settings, env, progress)
    layout = build_layout(settings, binaries)
    etcd_data = layout.state / "etcd"
    if fresh and processes.running_pid(layout, "etcd") is None and etcd_data.exists():
        shutil.rmtree(etcd_data)
        say("etcd: starting from empty data")
    pki.ensure_pki(layout.pki)
    write_kubeconfigs(settings, layout)
    ctx = tls_context(layout)
    node_ip = None
    if settings.real_node:
        node.check_prerequisites()
        node_ip = node_spec.NODE_IP
    deadline = time.monotonic() + settings.cluster_up_timeout_s
    for component in spec.build_components(layout, node_ip):
        if processes.running_pid(layout, component.name) is not None:
            ok, _ = _probe(component.health_url, ctx if component.secure else None)
            if ok:
                say(f"{component.name}: already running")
                continue
            processes.stop(layout, component.name)
        started = time.monotonic()
        proc = processes.start(layout, component, env)
        _wait_healthy(layout, component, proc, ctx, max(5.0, deadline - time.monotonic()))
        say(f"{component.name}: healthy in {time.monotonic() - started:.1f}s")
    with _api(layout) as api:
        _ensure_nodes(api, settings.kwok_nodes)
        _ensure_volume_pool(api, settings)
        if settings.real_node:
            node.up(settings, layout, api, env, node_images(settings, binaries), report=say)
        _wait_usable(api, layout, deadline)
    say(f"nodes Ready, default ServiceAccount present, {settings.volume_pool_size} volumes")
    return status(settings)


def node_images(settings: LocalSettings, binaries: build.ControlPlaneBinaries) -> node.NodeImages:
    """The images the node itself runs (pause, CoreDNS), built here on first use."""
    built = images.build_images(
        settings, ["pause", "coredns"], coredns_binary=binaries.path("coredns")
    )
    return node.NodeImages(
        archives=[b.archive for b in built],
        sandbox=images.image_ref("pause", settings),
        coredns=images.image_ref("coredns", settings),
    )


def _api(layout: spec.Layout) -> httpx.Client:
    return httpx.Client(base_url=layout.server, verify=tls_context(layout), timeout=10.0)


def _ensure_nodes(api: httpx.Client, count: int) -> None:
    for index in range(count):
        node = spec.build_fake_node(f"kwok-node-{index}")
        _create(api, "/api/v1/nodes", node)


def _ensure_volume_pool(api: httpx.Client, settings: LocalSettings) -> None:
    """The default StorageClass and its volumes; volumes released by deleted claims are
    made available again. Each volume is a folder under the cluster's state (a pod on the
    real node writes there), writable by the non-root users the charts run as."""
    _create(api, "/apis/storage.k8s.io/v1/storageclasses", spec.build_storage_class())
    for index in range(settings.volume_pool_size):
        volume = spec.build_pool_volume(index, settings.volumes_dir)
        folder = Path(volume["spec"]["hostPath"]["path"])
        if settings.real_node and not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o1777)  # like /tmp: any pod user may write, none may delete others'
        _create(api, "/api/v1/persistentvolumes", volume)
    released = api.get(
        "/api/v1/persistentvolumes", params={"labelSelector": "llmops.dev/volume-pool=local"}
    ).json()["items"]
    for item in released:
        if item.get("status", {}).get("phase") == "Released":
            # What the deleted claim's pod wrote goes with it (like a Delete reclaim policy).
            folder = Path(item["spec"]["hostPath"]["path"])
            if settings.real_node and folder.is_relative_to(settings.volumes_dir):
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True, exist_ok=True)
                folder.chmod(0o1777)
            api.patch(
                f"/api/v1/persistentvolumes/{item['metadata']['name']}",
                json={"spec": {"claimRef": None}},
                headers={"Content-Type": "application/merge-patch+json"},
            )


def _create(api: httpx.Client, path: str, body: dict[str, Any]) -> None:
    response = api.post(path, json=body)
    if response.status_code not in (201, 409):
        raise LlmopsError(
            "local cluster",
            f"cannot create {body['kind']} {body['metadata']['name']}: {response.text[:200]}",
        )


def _wait_usable(api: httpx.Client, layout: spec.Layout, deadline: float) -> None:
    waiting_for = "nodes Ready"
    while time.monotonic() < deadline:
        nodes = _node_readiness(api)
        if nodes and all(nodes.values()):
            waiting_for = "the default ServiceAccount"
            if api.get("/api/v1/namespaces/default/serviceaccounts/default").status_code == 200:
                return
        time.sleep(0.25)
    culprit = "kwok" if waiting_for == "nodes Ready" else "kube-controller-manager"
    raise LlmopsError(
        "local cluster",
        f"timed out waiting for {waiting_for}: {processes.log_tail(layout.log(culprit))}",
        f"see {layout.log(culprit)}",
    )


def _node_readiness(api: httpx.Client) -> dict[str, bool]:
    response = api.get("/api/v1/nodes")
    if response.status_code != 200:
        return {}
    return {item["metadata"]["name"]: _is_ready(item) for item in response.json()["items"]}


def _is_ready(node: dict[str, Any]) -> bool:
    conditions = node.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def status(settings: LocalSettings) -> ClusterStatus:
    layout = build_layout(settings)
    has_pki = (layout.pki / "admin.crt").is_file()
    ctx = tls_context(layout) if has_pki else None
    components = []
    node_ip = node_spec.NODE_IP if settings.real_node else None
    for component in spec.build_components(layout, node_ip):
        pid = processes.running_pid(layout, component.name)
        if pid is None:
            components.append(ComponentStatus(component.name, None, False, "not running"))
            continue
        ok, detail = _probe(component.health_url, ctx if component.secure else None)
        components.append(ComponentStatus(component.name, pid, ok, detail))
    if settings.real_node:
        for part in node.status(settings, layout):
            detail = "healthy" if part.healthy else ("unhealthy" if part.pid else "not running")
            components.append(ComponentStatus(part.name, part.pid, part.healthy, detail))
    nodes: dict[str, bool] = {}
    version = None
    if ctx is not None and components[1].healthy:
        with _api(layout) as api:
            nodes = _node_readiness(api)
            response = api.get("/version")
            version = response.json().get("gitVersion") if response.status_code == 200 else None
    return ClusterStatus(components, nodes, version, layout.kubeconfig("admin"))


def down(settings: LocalSettings, purge: bool = False) -> list[str]:
    """Stop every component (reverse start order). With `purge`, delete all cluster state."""
    layout = build_layout(settings)
    stopped: list[str] = []
    # Only the cluster whose folder holds the node takes it down: the bridge, the cgroups
    # and the chains are the machine's, and a second (kwok-only) cluster must not touch them.
    if settings.node_dir.exists():
        stopped += node.down(settings, layout)
    stopped += [
        component.name
        for component in reversed(spec.build_components(layout))
        if processes.stop(layout, component.name)
    ]
    if purge and settings.cluster_dir.exists():
        shutil.rmtree(settings.cluster_dir)
    return stopped
