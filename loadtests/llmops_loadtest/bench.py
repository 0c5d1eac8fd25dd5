"""``llmops bench loadgen``: is the load generator ever the bottleneck it measures?

One run, two measurements against the same local scripted upstream: the streaming
`CompletionStreamUser` (SSE parsing, per-token timing, a record per request) and Locust's
plain ``FastHttpUser`` sending the same request. Locust runs standalone (one process) pinned
to one core, the upstream to another; CPU use of both is reported so a saturated upstream
is visible instead of silently capping the numbers.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from llmops_loadtest.core.config import RunConfig, Target
from llmops_loadtest.core.profile import Profile
from llmops_loadtest.core.prompts import FixedPrompts
from llmops_loadtest.core.schedule import FixedConcurrency
from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.runner import build_locust_command
from llmops_loadtest.testing.process import start_upstream

PLAIN_LOCUSTFILE = Path(__file__).with_name("bench_plain.py")
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class BenchRow:
    user: str
    requests_per_s: float
    failures: int
    loadgen_cpu_ratio: float
    upstream_cpu_ratio: float


@dataclass(frozen=True, slots=True)
class BenchResult:
    rows: tuple[BenchRow, ...]

    @property
    def ratio(self) -> float:
        """streaming requests/s divided by plain requests/s."""
        return self.rows[0].requests_per_s / max(self.rows[1].requests_per_s, 1e-9)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _pin(pid: int, core: int) -> None:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1:
        os.sched_setaffinity(pid, {cores[core % len(cores)]})


def _measure(command: list[str], upstream_pid: int, row_name: str, csv_prefix: Path) -> BenchRow:
    upstream_before = _cpu_seconds(upstream_pid)
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pin(process.pid, 1)
    loadgen_cpu = 0.0
    while process.poll() is None:
        try:
            loadgen_cpu = _cpu_seconds(process.pid)
        except (OSError, IndexError):
            break
        time.sleep(0.2)
    _, stderr = process.communicate()
    wall = time.monotonic() - started
    upstream_cpu = _cpu_seconds(upstream_pid) - upstream_before
    stats = Path(f"{csv_prefix}_stats.csv")
    if not stats.is_file():
        raise LoadtestError("locust", f"benchmark run failed: {stderr.decode()[-300:]}")
    with stats.open() as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == row_name:
                return BenchRow(
                    user=row_name,
                    requests_per_s=float(row["Requests/s"]),
                    failures=int(row["Failure Count"]),
                    loadgen_cpu_ratio=loadgen_cpu / wall,
                    upstream_cpu_ratio=upstream_cpu / wall,
                )
    raise LoadtestError("locust", f"benchmark stats have no row {row_name!r}")


def run_loadgen_bench(seconds: float = 10.0, users: int = 32, tokens: int = 16) -> BenchResult:
    """Streaming user first, then the plain user, each for ``seconds`` with ``users``."""
    with tempfile.TemporaryDirectory(prefix="llmops-bench-") as tmp, start_upstream() as upstream:
        _pin(upstream.pid, 0)
        work = Path(tmp)
        profile = Profile(
            name="bench-loadgen",
            prompts=FixedPrompts(input_tokens=5, output_tokens=tokens),
            load=FixedConcurrency(users=users, duration_s=seconds),
        )
        config = RunConfig(
            profile=profile,
            targets=(Target(label="target", url=upstream.url, model="scripted-upstream"),),
            records_dir=work / "records",
            meta_path=work / "meta.json",
        )
        config.write(work / "config.json")
        streaming = build_locust_command(work / "config.json", config, workers=1)
        streaming += ["--csv", str(work / "streaming")]
        plain = [
            sys.executable, "-m", "locust", "-f", str(PLAIN_LOCUSTFILE), "--headless",
            "-H", upstream.url, "-u", str(users), "-r", str(users), "-t", f"{seconds:g}s",
            "--bench-tokens", str(tokens), "--only-summary", "--loglevel", "WARNING",
            "--exit-code-on-error", "0", "--csv", str(work / "plain"),
        ]  # fmt: skip
        rows = (
            _measure(streaming, upstream.pid, "target completion e2e", work / "streaming"),
            _measure(plain, upstream.pid, "plain completion", work / "plain"),
        )
    return BenchResult(rows)
