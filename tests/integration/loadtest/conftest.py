"""Helpers for the load-test integration tests: scripted upstreams and the CLI as a process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmops_loadtest.testing.process import RunningUpstream, start_upstream

CLI = [sys.executable, "-m", "llmops_loadtest"]


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, timeout: float = 180) -> CliResult:
    """``llmops loadtest ...`` as a real process (Locust must never run in pytest's)."""
    done = subprocess.run(
        [*CLI, *args], check=False, capture_output=True, text=True, timeout=timeout
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def upstream() -> Callable[..., AbstractContextManager[RunningUpstream]]:
    return start_upstream


@pytest.fixture
def fast_upstream() -> Iterator[RunningUpstream]:
    with start_upstream(ttft_s=0.02, itl_s=0.005) as running:
        yield running
