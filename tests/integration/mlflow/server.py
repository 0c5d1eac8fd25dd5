"""A real MLflow tracking server for the tests: its own tool venv, sqlite, a tmp artifact root.

``mlflow server`` needs the full ``mlflow`` package (Flask, SQLAlchemy, alembic, pandas ...),
which has no place in the project's venv: it runs from a tool venv built once by uv from
``infra/llmops_infra/charts/locks/mlflow.txt`` (``llmops_infra.charts.toolvenv``, like
checkov's) under ``~/.cache/llmops/tools/mlflow-<version>``, on a free loopback port, in its
own session (stopped as a process group).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from llmops_infra.charts.toolvenv import ToolVenv
from llmops_loadtest.mlflow_rest import MlflowClient, MlflowError

MLFLOW = ToolVenv("mlflow", "3.17.2")
# Measured: ~25 s alone on 2 cores (imports, then sqlite migrations); minutes under load.
START_TIMEOUT_S = 420.0
BUILD_COMMAND = (
    'python -c "import os; from llmops_infra.charts.toolvenv import ToolVenv, ensure_tool_venv; '
    "from llmops_infra.settings import LocalSettings; "
    "ensure_tool_venv(ToolVenv('mlflow', '3.17.2'), LocalSettings(), os.environ)\""
)


@dataclass
class MlflowServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    started_in_s: float

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(python: Path, workdir: Path, env: Mapping[str, str]) -> MlflowServer:
    """Start and wait for ``/health``; raises RuntimeError with the log's tail if it dies."""
    port = free_port()
    log = workdir / "mlflow-server.log"
    argv = [
        str(python.parent / "mlflow"),
        "server",
        "--host=127.0.0.1",
        f"--port={port}",
        "--workers=1",
        f"--backend-store-uri=sqlite:///{workdir / 'mlflow.db'}",
        f"--artifacts-destination={workdir / 'artifacts'}",
    ]
    started = time.monotonic()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv, stdout=sink, stderr=subprocess.STDOUT, env=dict(env), start_new_session=True
        )
    server = MlflowServer(f"http://127.0.0.1:{port}", process, log, 0.0)
    while time.monotonic() - started < START_TIMEOUT_S:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"mlflow server exited {process.returncode}: {' | '.join(tail)}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                server.started_in_s = time.monotonic() - started
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"mlflow server not healthy after {START_TIMEOUT_S:.0f} s (log: {log})")


class Registry:
    """Test-side setup calls (what a data scientist's pipeline would do), through the
    project's own MLflow client."""

    def __init__(self, url: str) -> None:
        self.client = MlflowClient(url, 30)

    def post(self, endpoint: str, payload: dict[str, object]) -> dict[str, object]:
        return self.client.call("POST", endpoint, json=payload)

    def get(self, endpoint: str, **params: str) -> dict[str, object]:
        return self.client.call("GET", endpoint, params=params)

    def register(self, name: str, source: str, tags: Mapping[str, str]) -> str:
        """A new version of ``name`` (created on first use); returns its number."""
        try:
            self.post("/registered-models/create", {"name": name})
        except MlflowError as err:
            if err.status != 400:  # RESOURCE_ALREADY_EXISTS
                raise
        payload = {"name": name, "source": source,
                   "tags": [{"key": k, "value": v} for k, v in tags.items()]}  # fmt: skip
        version = self.post("/model-versions/create", payload)["model_version"]
        assert isinstance(version, dict)
        return str(version["version"])

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.post("/registered-models/alias", {"name": name, "alias": alias, "version": version})

    def version(self, name: str, version: str) -> dict[str, object]:
        found = self.get("/model-versions/get", name=name, version=version)["model_version"]
        assert isinstance(found, dict)
        return found

    def alias(self, name: str, alias: str) -> str:
        found = self.get("/registered-models/alias", name=name, alias=alias)["model_version"]
        assert isinstance(found, dict)
        return str(found["version"])


def tags_of(version: Mapping[str, object]) -> dict[str, str]:
    raw = version.get("tags") or []
    assert isinstance(raw, list)
    return {str(t["key"]): str(t["value"]) for t in raw}
