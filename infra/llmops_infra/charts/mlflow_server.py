"""A real MLflow tracking server on this machine: its own tool venv, sqlite, an artifact folder.

``mlflow server`` needs the full ``mlflow`` package (Flask, SQLAlchemy, alembic, pandas ...),
which has no place in the project's venv: it runs from a tool venv built once by uv from
``locks/mlflow.txt`` (`llmops_infra.charts.toolvenv`, like checkov's) under
``<cache_dir>/tools/mlflow-<version>``, in its own session (stopped as a process group).

The integration tier starts one per session on loopback; the demo starts one on the node's
address, where the operator's pod reaches it, as a team's existing MLflow outside the cluster
(`--pid-file` lets `llmops demo down` stop it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from llmops_infra.charts.toolvenv import ToolVenv, ensure_tool_venv
from llmops_infra.settings import LocalSettings

MLFLOW = ToolVenv("mlflow", "3.17.2")
# MLflow's server-side jobs (huey consumers for GenAI evaluation) are 8 more processes: 2 GB
# against 0.5 GB without (measured with 3.17.2); a registry and tracking server needs none.
SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
# Measured: ~25 s alone on 2 cores (imports, then sqlite migrations); minutes under load.
START_TIMEOUT_S = 420.0


@dataclass
class MlflowServer:
    url: str
    pid: int
    log: Path
    started_in_s: float

    def stop(self) -> None:
        stop_group(self.pid)


def stop_group(pid: int, grace_s: float = 20.0) -> None:
    """SIGTERM the server's process group, SIGKILL what is left after ``grace_s``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            os.killpg(pid, 0)  # raises ProcessLookupError once the group is gone
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.2)
        os.killpg(pid, signal.SIGKILL)


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_server(
    settings: LocalSettings,
    workdir: Path,
    env: Mapping[str, str],
    *,
    host: str = "127.0.0.1",
    port: int,
) -> MlflowServer:
    """Build the tool venv if needed, start ``mlflow server`` with its store in ``workdir`` and
    wait for ``/health``; raises RuntimeError with the log's tail if it dies or never answers
    (LlmopsError if the venv cannot be built)."""
    python = ensure_tool_venv(MLFLOW, settings, env)
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "mlflow-server.log"
    argv = [
        str(python.parent / "mlflow"),
        "server",
        f"--host={host}",
        f"--port={port}",
        "--workers=1",
        f"--backend-store-uri=sqlite:///{workdir / 'mlflow.db'}",
        f"--artifacts-destination={workdir / 'artifacts'}",
    ]
    started = time.monotonic()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**env, **SERVER_ENV},
            start_new_session=True,
        )
    server = MlflowServer(f"http://{host}:{port}", process.pid, log, 0.0)
    while time.monotonic() - started < START_TIMEOUT_S:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"mlflow server exited {process.returncode}: {' | '.join(tail)}")
        if healthy(server.url):
            server.started_in_s = time.monotonic() - started
            return server
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"mlflow server not healthy after {START_TIMEOUT_S:.0f} s (log: {log})")
