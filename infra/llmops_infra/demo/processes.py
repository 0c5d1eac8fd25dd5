"""What the demo runs beside the cluster: kubectl (and its port-forwards on 127.0.0.1),
`kubectl llmops`, the MLflow tracking server the registry lives in, and the steady client load
through the gateway, each failure raised as one `LlmopsError` naming what to do."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from llmops_infra.charts import mlflow_server
from llmops_infra.demo.plan import REGISTRY_PORT, RegisteredVersion, Tally, judge_stream
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings, base_env
from llmops_loadtest.mlflow_rest import MlflowClient, MlflowError

BACKEND_HEADER = "x-llmops-backend"  # the gateway names the backend that served a request


@dataclass(frozen=True)
class Kubectl:
    env: dict[str, str]  # the pinned tools first on PATH, KUBECONFIG set

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        done = subprocess.run(
            ["kubectl", *args], input=stdin, capture_output=True, text=True, env=self.env,
            check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
            raise LlmopsError(f"kubectl {args[0]}", lines[-1].strip())
        return done.stdout if done.returncode == 0 else ""


def free_port(host: str = "127.0.0.1", preferred: int = 0) -> int:
    """``preferred`` when it can be bound on ``host`` (as a server binds it: a port whose
    last connections linger in TIME_WAIT counts as free), else any free port."""
    for port in (preferred, 0) if preferred else (0,):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise LlmopsError("a free port", f"none on {host}", "stop what holds the ports")


PID_FILE = "server.pid"


def start_registry(settings: LocalSettings, folder: Path, host: str) -> mlflow_server.MlflowServer:
    """A fresh MLflow tracking server on ``host`` with its store in ``folder`` (a previous
    demo's server and store go first), its pid kept for `stop_registry`."""
    stop_registry(folder)
    shutil.rmtree(folder, ignore_errors=True)
    try:
        server = mlflow_server.start_server(
            settings, folder, base_env(), host=host, port=free_port(host, REGISTRY_PORT)
        )
    except RuntimeError as err:
        raise LlmopsError(
            "MLflow tracking server", str(err), f"read {folder / 'mlflow-server.log'}"
        ) from None
    (folder / PID_FILE).write_text(str(server.pid))
    return server


def stop_registry(folder: Path) -> bool:
    """Stop the server `start_registry` left running in ``folder``; whether one was."""
    pid_file = folder / PID_FILE
    if not pid_file.is_file():
        return False
    mlflow_server.stop_group(int(pid_file.read_text()))
    pid_file.unlink()
    return True


def register_versions(url: str, name: str, versions: Sequence[RegisteredVersion]) -> None:
    """Register ``name`` and its versions, as a training pipeline would."""
    client = MlflowClient(url, 30)
    try:
        for version in versions:
            number = client.register_version(name, version.source, description=version.description)
            if number != version.version:
                raise LlmopsError(
                    "MLflow registry",
                    f"registered {name} version {number}, expected {version.version}",
                    "the demo's registry store was not empty: run `llmops demo` again",
                )
    except MlflowError as err:
        raise LlmopsError("MLflow registry", err.one_line(), f"curl {url}/health") from None


def alias_version(url: str, name: str, alias: str) -> str:
    """The version ``name@alias`` names, or '' when the alias is not set."""
    try:
        found = MlflowClient(url, 10).call(
            "GET", "/registered-models/alias", params={"name": name, "alias": alias}
        )
    except MlflowError:
        return ""
    return str(found["model_version"]["version"])


def drop_finalizers(kubectl: Kubectl, namespace: str) -> None:
    listed = kubectl.run("get", "modeldeployments.llmops.dev", "-n", namespace, "-o", "name",
                         check=False)  # fmt: skip
    for resource in listed.split():
        kubectl.run(
            "patch", resource, "-n", namespace, "--type=merge",
            "-p", '{"metadata":{"finalizers":null}}', check=False,
        )  # fmt: skip


def plugin(kube_env: dict[str, str], *args: str) -> str:
    """`kubectl llmops ...` as kubectl runs it (the plugin's process, the same kubeconfig)."""
    done = subprocess.run(
        [sys.executable, "-m", "llmops_operator.plugin", *args],
        capture_output=True, text=True, env=kube_env, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
        raise LlmopsError(f"kubectl llmops {args[0]}", lines[-1].strip())
    return done.stdout


@contextlib.contextmanager
def port_forward(kubectl: Kubectl, namespace: str, target: str, remote: int) -> Iterator[str]:
    """`kubectl port-forward` on 127.0.0.1 to ``target`` (``svc/name``); yields the local
    base URL and stops the forward on the way out."""
    local = free_port()
    proc = subprocess.Popen(
        ["kubectl", "port-forward", "-n", namespace, "--address=127.0.0.1", target,
         f"{local}:{remote}"],
        env=kubectl.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", local), 1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                error = (proc.stderr.read() if proc.stderr else "").strip() or "no answer"
                raise LlmopsError(
                    f"port-forward to {namespace}/{target}",
                    error.splitlines()[-1],
                    f"kubectl -n {namespace} get pods; kubectl -n {namespace} describe {target}",
                )
            time.sleep(0.2)
        yield f"http://127.0.0.1:{local}"
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


@dataclass
class SteadyLoad:
    """One client sending streamed chat completions through the gateway, back to back with
    a short pause, counting every request (`Tally`) until `stop`."""

    base_url: str
    model: str
    # On 2 cores the stable answers at about one request per 2.5 s; back to back it would keep
    # a core busy while the candidate starts beside it (revision 2 took 4 min to load under
    # a 0.5 s pause, revision 1 under no load 1 min 45 s).
    pause_s: float = 1.5
    tally: Tally = field(default_factory=Tally)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="steady-load", daemon=True)
        self._thread.start()

    def stop(self) -> Tally:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=180)
        return self.tally

    def _loop(self) -> None:
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": "Name one colour of the sky."}],
            "max_tokens": 8,
            "stream": True,
        }
        with httpx.Client(base_url=self.base_url, timeout=120) as client:
            while not self._stop.is_set():
                backend, failure = "", ""
                try:
                    with client.stream("POST", "/v1/chat/completions", json=body) as response:
                        text = "".join(response.iter_text())
                        backend = response.headers.get(BACKEND_HEADER, "?")
                        failure = judge_stream(response.status_code, text)
                except httpx.HTTPError as err:
                    failure = f"{type(err).__name__}: {err}"
                self.tally.record(backend, failure)
                self._stop.wait(self.pause_s)
