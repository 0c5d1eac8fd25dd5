"""Start the scripted upstream as a real local process (tests and the benchmark)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from llmops_loadtest.errors import LoadtestError

READY_PREFIX = "listening on "


@dataclass(frozen=True, slots=True)
class RunningUpstream:
    url: str
    pid: int


@contextmanager
def start_upstream(
    ttft_s: float = 0.0,
    itl_s: float = 0.0,
    error_rate: float = 0.0,
    seed: int = 0,
    ttft_per_inflight_s: float = 0.0,
) -> Iterator[RunningUpstream]:
    """A `sse_upstream` on a free port, stopped on exit."""
    command = [
        sys.executable, "-m", "llmops_loadtest.testing.sse_upstream", "--port", "0",
        "--ttft-s", str(ttft_s), "--itl-s", str(itl_s), "--error-rate", str(error_rate),
        "--seed", str(seed), "--ttft-per-inflight-s", str(ttft_per_inflight_s),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith(READY_PREFIX):
            _, stderr = process.communicate(timeout=5)
            raise LoadtestError("scripted upstream", f"did not start: {stderr.strip()[-300:]}")
        yield RunningUpstream(url=line[len(READY_PREFIX) :].strip(), pid=process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
