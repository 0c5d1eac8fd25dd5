"""Fault tools of the operator's cluster tests: kill at a phase seen in a watch, a TCP proxy
in front of the API server that a test drops and restores, a private kwok node, and the
checks that a rollout's record (timeline, analysis runs, history) holds each step once."""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from llmops_infra.cluster.spec import build_fake_node
from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import Operator

Status = dict[str, Any]


def reason_of(status: Status) -> str:
    conditions = status.get("conditions") or []
    return next((c["reason"] for c in conditions if c["type"] == "Progressing"), "")


def kill_at(
    kube: Kube,
    namespace: str,
    name: str,
    op: Operator,
    at: Callable[[Status], bool],
    *,
    trigger: Callable[[], None] | None = None,
    timeout: float = 60,
) -> Status:
    """SIGKILL the operator the moment a watch on the ModelDeployment shows a status ``at``
    accepts (a watch event arrives within milliseconds; the operator's next tick is 0.5 s
    away at the soonest). ``trigger`` runs once the watch is open (what starts the phase).
    Returns the status the kill froze, read back after the kill."""
    cmd = [
        "kubectl", f"--kubeconfig={kube.kubeconfig}", "get", "modeldeployment", name,
        "-n", namespace, "-w", "-o", 'jsonpath={.status}{"\\n"}',
    ]  # fmt: skip
    watch = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=kube.env)
    assert watch.stdout is not None
    timer = threading.Timer(timeout, watch.kill)
    timer.start()
    line = ""
    try:
        for line in watch.stdout:
            status = json.loads(line) if line.strip() else {}
            if trigger is not None:
                trigger()
                trigger = None
                continue
            if at(status):
                op.kill()
                break
        else:
            log = op.log.read_text()[-3000:]
            raise AssertionError(f"phase never seen; last: {line[:2000]}\n{log}")
    finally:
        timer.cancel()
        watch.kill()
        watch.wait(5)
    out = kube.kubectl("get", "modeldeployment", name, "-n", namespace, "-o", "json").stdout
    frozen: Status = json.loads(out).get("status") or {}
    return frozen


def latest_rollout(status: Status) -> list[dict[str, Any]]:
    timeline: list[dict[str, Any]] = status["timeline"]
    start = max(i for i, e in enumerate(timeline) if e.get("rolloutStart"))
    return timeline[start:]


# Reasons that mark a step done (or a one-off move): each must be recorded at most once per
# step of one rollout, whatever crashed in between.
ONCE = frozenset({
    "NewRevision", "WeightSet", "PauseEnded", "AnalysisPassed", "AnalysisFailed",
    "AllStepsDone", "Promoting", "Promoted", "AbortedByUser", "ScaledDown",
})  # fmt: skip


def assert_each_step_once(status: Status) -> list[dict[str, Any]]:
    """The latest rollout's timeline: no entry repeated, every step-ending reason once per
    step, the rollout's weight never back down before a rollback. Returns the entries."""
    entries = latest_rollout(status)
    keys = [(e["phase"], e["reason"], e.get("step"), e["canaryWeight"]) for e in entries]
    assert all(a != b for a, b in itertools.pairwise(keys)), keys
    # (RolledBack keeps the reason of its cause: the phase tells the two entries apart)
    done = [(e["phase"], e["reason"], e.get("step")) for e in entries if e["reason"] in ONCE]
    assert len(done) == len(set(done)), f"a step recorded twice: {done}"
    weights = [
        e["canaryWeight"] for e in entries if e["phase"] not in ("RollingBack", "RolledBack")
    ]
    assert weights == sorted(weights), f"weight went backwards: {weights}"
    return entries


def assert_runs_once(status: Status) -> None:
    """No analysis batch recorded twice: one run per (step, metric, time)."""
    runs = [(r["step"], r["metric"], r["at"]) for r in status.get("analysisRuns") or []]
    assert len(runs) == len(set(runs)), runs


# -- a private kwok node -----------------------------------------------------------------

NODE_LABEL = "llmops.dev/opfaults"


def private_node_pod(namespace: str) -> dict[str, Any]:
    """``spec.pod`` settings that put a revision's pods on `add_private_node`'s node only."""
    return {
        "nodeSelector": {NODE_LABEL: namespace},
        "tolerations": [
            {"key": NODE_LABEL, "operator": "Equal", "value": namespace, "effect": "NoSchedule"}
        ],
    }


def add_private_node(kube: Kube, namespace: str) -> str:
    """A kwok node only this test's pods tolerate (tainted and labelled with the namespace),
    so losing it touches no one else's pods."""
    node = build_fake_node(f"opf-{namespace}")
    node["metadata"]["labels"][NODE_LABEL] = namespace
    node["spec"]["taints"] = [{"key": NODE_LABEL, "value": namespace, "effect": "NoSchedule"}]
    kube.kubectl("apply", "-f", "-", stdin=json.dumps(node))
    return str(node["metadata"]["name"])


def delete_node(kube: Kube, node: str) -> None:
    kube.kubectl("delete", "node", node, "--ignore-not-found", "--wait=false")


# -- an API server outage as the operator sees it ----------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:<port> to the API server (TLS passes through untouched). `drop`
    closes the listener and every open connection: the operator's requests and watches then
    fail exactly as against a stopped API server; `restore` listens again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.listen()

    def listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def drop(self) -> None:
        assert self._listener is not None
        self._listener.close()
        self._listener = None
        with self._lock:
            conns, self._conns = self._conns, []
        for sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def restore(self) -> None:
        self.listen()

    def close(self) -> None:
        if self._listener is not None:
            self.drop()


@contextlib.contextmanager
def api_proxy(kube: Kube, path: Path) -> Iterator[TcpProxy]:
    """A proxy in front of the API server and, at ``path``, a copy of the tests' kubeconfig
    that reaches the API server through it (relative credential paths made absolute)."""
    config = yaml.safe_load(kube.kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    host, port = cluster["server"].removeprefix("https://").rsplit(":", 1)
    proxy = TcpProxy((host, int(port)))
    cluster["server"] = f"https://{host}:{proxy.port}"
    sections = [c["cluster"] for c in config["clusters"]] + [u["user"] for u in config["users"]]
    for section in sections:
        for key in ("certificate-authority", "client-certificate", "client-key"):
            if key in section and not Path(section[key]).is_absolute():
                section[key] = str(kube.kubeconfig.parent / section[key])
    path.write_text(yaml.safe_dump(config))
    try:
        yield proxy
    finally:
        proxy.close()


def wait_until(check: Callable[[], bool], timeout: float, what: str, op: Operator) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}\n{op.log.read_text()[-3000:]}")
