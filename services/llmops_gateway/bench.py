"""``llmops bench gateway``: the latency and throughput the gateway adds (not a test).

Set-up: one fast OpenAI-compatible *test* upstream (no model), brought by the caller: the
``llmops`` CLI starts the project's scripted upstream (`llmops_loadtest.testing`), which the
gateway's distribution does not carry; and one gateway process (one worker, default
guardrails on) routing an alias to it, started here on a free port. Each scenario
(non-streaming / streaming x 1 / 50 concurrent clients) sends the same requests once
directly to the upstream and once through the gateway; the added latency is the difference
of the two latency percentiles, and requests/s is what one gateway worker sustained. Client,
gateway and upstream share the machine's cores, so absolute numbers depend on the machine
and its load.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import anyio
import httpx

ALIAS = "bench"


@dataclass(frozen=True)
class Sample:
    """One request: total latency, time to first byte, and whether it succeeded."""

    latency_s: float
    ttfb_s: float
    ok: bool


@dataclass(frozen=True)
class Run:
    samples: list[Sample]
    wall_s: float

    @property
    def ok(self) -> list[float]:
        return sorted(sample.latency_s for sample in self.samples if sample.ok)

    @property
    def errors(self) -> int:
        return sum(not sample.ok for sample in self.samples)

    @property
    def rps(self) -> float:
        return len(self.ok) / self.wall_s if self.wall_s else 0.0


@dataclass(frozen=True)
class Row:
    """One scenario's result, as printed."""

    mode: str
    clients: int
    requests: int
    direct_p50_ms: float
    direct_p99_ms: float
    gateway_p50_ms: float
    gateway_p99_ms: float
    added_p50_ms: float
    added_p99_ms: float
    direct_rps: float
    gateway_rps: float
    errors: int


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url}: not ready after {timeout_s:.0f} s")


@contextmanager
def _process(args: list[str], env: dict[str, str], ready_url: str) -> Iterator[None]:
    process = subprocess.Popen(
        [sys.executable, *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(ready_url, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def bench_gateway(upstream_url: str) -> Iterator[str]:
    """The gateway's base URL, routing `ALIAS` to ``upstream_url``, serving until the end."""
    gw_port = _free_port()
    with tempfile.TemporaryDirectory(prefix="llmops-bench-") as tmp:
        table = Path(tmp) / "routing.json"
        backend = {"name": "test-upstream", "url": upstream_url, "model": "test-model"}
        table.write_text(
            json.dumps({"version": "bench", "routes": {ALIAS: {"backends": [backend]}}})
        )
        env = {
            "LLMOPS_GATEWAY_PORT": str(gw_port),
            "LLMOPS_GATEWAY_ROUTING_TABLE": str(table),
            "LLMOPS_GATEWAY_LOG_LEVEL": "warning",
        }
        with _process(["-m", "llmops_gateway"], env, f"http://127.0.0.1:{gw_port}/healthz"):
            yield f"http://127.0.0.1:{gw_port}/v1"


async def _one(client: httpx.AsyncClient, url: str, model: str, stream: bool) -> Sample:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "Say something short."}],
        "max_tokens": 16,
        "stream": stream,
    }
    started = time.perf_counter()
    ttfb = 0.0
    try:
        async with client.stream("POST", url, json=body) as response:
            async for chunk in response.aiter_bytes():
                if not ttfb and chunk:
                    ttfb = time.perf_counter() - started
            ok = response.status_code == 200
    except httpx.HTTPError:
        ok = False
    return Sample(latency_s=time.perf_counter() - started, ttfb_s=ttfb, ok=ok)


async def _run(base: str, model: str, *, stream: bool, clients: int, requests: int) -> Run:
    samples: list[Sample] = []
    url = f"{base}/chat/completions"
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits, trust_env=False) as client:
        for _ in range(min(20, requests)):  # warm connections and code paths
            await _one(client, url, model, stream)
        remaining = requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                samples.append(await _one(client, url, model, stream))

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(clients):
                group.start_soon(worker)
        wall = time.perf_counter() - started
    return Run(samples=samples, wall_s=wall)


def run_bench(
    upstream: str,
    requests_single: int = 300,
    requests_concurrent: int = 2000,
    concurrency: tuple[int, ...] = (1, 50),
) -> list[Row]:
    """All scenarios against ``upstream`` (an OpenAI base URL ending in ``/v1``) and the
    gateway in front of it; returns one row each (the caller prints them)."""
    rows = []
    with bench_gateway(upstream) as gateway:
        for stream in (False, True):
            for clients in concurrency:
                requests = requests_single if clients == 1 else requests_concurrent
                direct = anyio.run(
                    partial(
                        _run,
                        upstream,
                        "test-model",
                        stream=stream,
                        clients=clients,
                        requests=requests,
                    )
                )
                via = anyio.run(
                    partial(_run, gateway, ALIAS, stream=stream, clients=clients, requests=requests)
                )
                rows.append(
                    _row("stream" if stream else "non-stream", clients, requests, direct, via)
                )
    return rows


def _row(mode: str, clients: int, requests: int, direct: Run, via: Run) -> Row:
    d50, d99 = percentile(direct.ok, 50) * 1000, percentile(direct.ok, 99) * 1000
    g50, g99 = percentile(via.ok, 50) * 1000, percentile(via.ok, 99) * 1000
    return Row(
        mode=mode,
        clients=clients,
        requests=requests,
        direct_p50_ms=d50,
        direct_p99_ms=d99,
        gateway_p50_ms=g50,
        gateway_p99_ms=g99,
        added_p50_ms=g50 - d50,
        added_p99_ms=g99 - d99,
        direct_rps=direct.rps,
        gateway_rps=via.rps,
        errors=direct.errors + via.errors,
    )
