"""Run Locust headless as a subprocess and follow its records live.

Locust (gevent) monkey-patches the process it runs in, so it never runs inside the CLI or
the tests: `run_locust` starts ``python -m locust`` on `llmops_loadtest.locustfile`, standalone
or with ``--processes N`` (one master, N worker processes), tails the JSONL records for the
live view, and returns when Locust exits.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llmops_loadtest.core.apis import USER_CLASS_BY_API
from llmops_loadtest.core.config import RunConfig
from llmops_loadtest.core.records import RequestRecord
from llmops_loadtest.core.stats import percentile
from llmops_loadtest.errors import LoadtestError

POLL_S = 0.5
START_TIMEOUT_S = 60.0  # Locust's imports and worker start-up before the first tick
LOG_TAIL_LINES = 3
# a path, not an import: importing it would pull gevent's monkey-patching into this process
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


@dataclass(frozen=True, slots=True)
class Progress:
    """A live view of a running test; ``ttft_p95_s`` over the records seen so far."""

    elapsed_s: float
    duration_s: float
    requests: int
    failures: int
    output_tokens: int
    ttft_p95_s: float | None


@dataclass(frozen=True, slots=True)
class LocustRun:
    """What a finished Locust run left behind."""

    started_at: float
    records: list[RequestRecord]
    log: Path
    exit_code: int


class _Tail:
    """Follows every JSONL file in a folder, returning only complete new lines."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._offsets: dict[Path, int] = {}
        self.records: list[RequestRecord] = []

    def poll(self) -> None:
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*.jsonl")):
            offset = self._offsets.get(path, 0)
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
            end = data.rfind(b"\n") + 1
            for line in data[:end].splitlines():
                try:
                    self.records.append(RequestRecord.from_dict(json.loads(line)))
                except (ValueError, KeyError):
                    continue
            self._offsets[path] = offset + end


def build_locust_command(config_path: Path, config: RunConfig, workers: int) -> list[str]:
    """``python -m locust`` headless on our locustfile; ``workers > 1`` forks worker processes."""
    profile = config.profile
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        USER_CLASS_BY_API[profile.api],
        "--headless",
        "--llmops-config",
        str(config_path),
        # users finish the request in flight: no request is cut, so counts match the server's
        "--stop-timeout",
        str(int(profile.request_timeout_s) + 1),
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
        "--only-summary",
    ]
    if workers > 1:
        command += ["--processes", str(workers)]
    return command


def run_locust(
    config: RunConfig,
    work_dir: Path,
    workers: int = 1,
    on_progress: Callable[[Progress], None] | None = None,
) -> LocustRun:
    """Run the profile to its end; `LoadtestError` if Locust did not start or run."""
    work_dir.mkdir(parents=True, exist_ok=True)
    config_path = work_dir / "run-config.json"
    config.write(config_path)
    log = work_dir / "locust.log"
    duration = config.profile.duration_s
    deadline_s = START_TIMEOUT_S + duration + config.profile.request_timeout_s + 30
    tail = _Tail(config.records_dir)
    with log.open("wb") as log_handle:
        process = subprocess.Popen(
            build_locust_command(config_path, config, workers),
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            cwd=work_dir,
        )
        launched = time.monotonic()
        try:
            while process.poll() is None:
                if time.monotonic() - launched > deadline_s:
                    raise LoadtestError("locust", f"still running after {deadline_s:.0f} s")
                time.sleep(POLL_S)
                tail.poll()
                if on_progress is not None:
                    on_progress(_progress(config, tail.records, duration))
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    tail.poll()
    if not config.meta_path.is_file():
        raise LoadtestError("locust", f"did not start the test: {_log_tail(log)}")
    meta = json.loads(config.meta_path.read_text(encoding="utf-8"))
    records = sorted(tail.records, key=lambda record: record.started_at)
    return LocustRun(float(meta["started_at"]), records, log, process.returncode)


def _progress(config: RunConfig, records: list[RequestRecord], duration: float) -> Progress:
    started = None
    if config.meta_path.is_file():
        try:
            started = float(json.loads(config.meta_path.read_text())["started_at"])
        except (ValueError, KeyError):
            started = None
    elapsed = min(time.time() - started, duration) if started else 0.0
    recent = records[-500:]
    ttft = [record.ttft_s for record in recent if record.success and record.ttft_s is not None]
    return Progress(
        elapsed_s=elapsed,
        duration_s=duration,
        requests=len(records),
        failures=sum(1 for record in records if not record.success),
        output_tokens=sum(record.output_tokens for record in records if record.success),
        ttft_p95_s=percentile(ttft, 95),
    )


def _log_tail(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return " | ".join(lines[-LOG_TAIL_LINES:]) or "no output"
