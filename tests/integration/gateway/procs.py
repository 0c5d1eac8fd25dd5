"""Real local processes for the gateway's integration tests: the gateway (uvicorn, as
``python -m llmops_gateway``) and fast OpenAI-compatible *test* upstreams (the project's one
scripted upstream, ``python -m llmops_loadtest.testing.sse_upstream``, not vLLM). Each runs
in its own process and is stopped at the end of its fixture."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_http(proc: Proc, path: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            raise RuntimeError(f"process exited: {proc.log.read_text()[-2000:]}")
        try:
            if httpx.get(proc.url + path, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.stop()
    raise RuntimeError(f"not ready after {START_TIMEOUT_S} s: {proc.log.read_text()[-2000:]}")


def _spawn(
    args: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )


@contextmanager
def upstream(
    tmp: Path,
    name: str,
    *,
    token_delay_ms: float = 0,
    fail_status: int = 0,
    embed_delay_ms: float = 0,
    port: int | None = None,
) -> Iterator[Proc]:
    """A fast OpenAI-compatible test upstream (not vLLM): ``token_delay_ms`` before every
    token, ``embed_delay_ms`` before every embeddings answer, every generation failing with
    ``fail_status`` when set."""
    port = port or free_port()
    log = tmp / f"upstream-{name}.log"
    delay_s = str(token_delay_ms / 1000)
    args = [
        "-m", "llmops_loadtest.testing.sse_upstream", "--port", str(port), "--name", name,
        "--ttft-s", delay_s, "--itl-s", delay_s, "--fail-status", str(fail_status),
        "--embed-delay-s", str(embed_delay_ms / 1000),
    ]  # fmt: skip
    proc = Proc(_spawn(args, log), port, log)
    try:
        _wait_http(proc, "/v1/models")
        yield proc
    finally:
        proc.stop()


@contextmanager
def gateway(tmp: Path, **settings: Any) -> Iterator[Proc]:
    """The gateway as a real uvicorn server, configured through its environment."""
    port = free_port()
    env = {"LLMOPS_GATEWAY_PORT": str(port), "LLMOPS_GATEWAY_LOG_LEVEL": "warning"}
    for key, value in settings.items():
        env[f"LLMOPS_GATEWAY_{key.upper()}"] = str(value)
    log = tmp / f"gateway-{port}.log"
    proc = Proc(_spawn(["-m", "llmops_gateway"], log, env), port, log)
    try:
        _wait_http(proc, "/healthz")
        yield proc
    finally:
        proc.stop()


def write_table(path: Path, routes: dict[str, Any], version: str = "1") -> Path:
    """Write a routing table atomically (as a ConfigMap update does: a new file swapped in)."""
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps({"version": version, "routes": routes}))
    staging.replace(path)
    return path


def backend(
    name: str,
    upstream_url: str,
    *,
    weight: float = 1,
    revision: str = "stable",
    chat: str = "native",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": name,
        "url": f"{upstream_url}/v1",
        "model": f"model-{name}",
        "weight": weight,
        "revision": revision,
        "chat": chat,
        **extra,
    }


def stats(proc: Proc) -> dict[str, Any]:
    value: dict[str, Any] = httpx.get(proc.url + "/stats", timeout=5).json()
    return value


@contextmanager
def redis_server(tmp: Path) -> Iterator[Proc]:
    """A real Redis server (Debian's ``redis-server``) on a free port, nothing persisted."""
    port = free_port()
    log = tmp / f"redis-{port}.log"
    args = [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(tmp),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    proc = Proc(process, port, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server not ready: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield proc
    finally:
        proc.stop()
