"""The operator's gate runner with the real `llmops loadtest run` (Locust in a child process)
against the scripted upstream: verdicts, report links, runs that cannot start, time limits
and cancellation (the whole process group goes, Locust's children included)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from llmops_loadtest.testing.process import RunningUpstream, start_upstream
from llmops_operator.clients.loadtest import ProcessLoadTestRunner
from llmops_operator.core.manifests.loadtest_plan import LoadTestPlan
from llmops_operator.core.rollout.interface import LoadTestObservation
from llmops_operator.core.state.status import LoadTestVerdict


def plan(
    target: str, *, duration_s: int = 4, slos: list[str], timeout_s: float = 120
) -> LoadTestPlan:
    profile: dict[str, Any] = {
        "name": "gate",
        "api": "completions",
        "prompts": {"kind": "fixed", "input_tokens": 8, "output_tokens": 4},
        "load": {"shape": "fixed_concurrency", "users": 2, "duration_s": duration_s},
    }
    return LoadTestPlan(target, profile, {"slos": slos, "min_requests": 2}, timeout_s)


def wait_done(runner: ProcessLoadTestRunner, key: str, timeout: float = 120) -> LoadTestObservation:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = runner.observe("gate", key)
        assert seen is not None
        if seen.verdict is not LoadTestVerdict.RUNNING:
            return seen
        time.sleep(0.5)
    raise AssertionError(f"run {key} still running after {timeout} s")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[ProcessLoadTestRunner]:
    handle = ProcessLoadTestRunner(str(tmp_path / "reports"))
    yield handle
    handle.close()


@pytest.fixture
def scripted() -> Iterator[RunningUpstream]:
    with start_upstream(ttft_s=0.02, itl_s=0.005) as running:
        yield running


def test_a_passing_run_links_its_html_report(
    runner: ProcessLoadTestRunner, scripted: RunningUpstream
) -> None:
    runner.start("ns.md.gate", "gate", plan(scripted.url, slos=["error_ratio <= 0"]))
    assert runner.observe("gate", "ns.md.gate") == LoadTestObservation(
        "gate", LoadTestVerdict.RUNNING
    )
    seen = wait_done(runner, "ns.md.gate")
    assert seen.verdict is LoadTestVerdict.PASSED, seen
    assert seen.message == "PASS (1/1 SLOs met)"
    report = Path(urlparse(seen.report_url).path)
    assert report.name == "report.html" and report.is_file()
    # Asking again does not start a second run; the verdict stays.
    runner.start("ns.md.gate", "gate", plan(scripted.url, slos=["error_ratio <= 0"]))
    assert runner.observe("gate", "ns.md.gate") == seen


def test_a_failing_run_names_the_slo_it_missed(runner: ProcessLoadTestRunner) -> None:
    with start_upstream(ttft_s=0.01, error_rate=0.5, seed=3) as flaky:
        runner.start("ns.md.gate", "gate", plan(flaky.url, slos=["error_ratio <= 0.01"]))
        seen = wait_done(runner, "ns.md.gate")
    assert seen.verdict is LoadTestVerdict.FAILED
    assert seen.message.startswith("FAIL: error_ratio <= 0.01 (observed"), seen.message


def test_a_run_that_cannot_start_fails_with_the_reason(
    runner: ProcessLoadTestRunner, tmp_path: Path
) -> None:
    runner.start("ns.md.gate", "gate", plan("http://127.0.0.1:9", slos=["error_ratio <= 0"]))
    seen = wait_done(runner, "ns.md.gate")
    assert seen.verdict is LoadTestVerdict.FAILED
    assert seen.message.startswith("could not run (exit 2): error"), seen.message
    assert "127.0.0.1:9" in seen.message
    assert Path(urlparse(seen.report_url).path).name == "run.log"


def test_a_run_past_its_time_limit_is_stopped_with_its_children(
    runner: ProcessLoadTestRunner, scripted: RunningUpstream
) -> None:
    runner.start(
        "ns.md.gate",
        "gate",
        plan(scripted.url, duration_s=120, slos=["error_ratio <= 0"], timeout_s=8),
    )
    pgid = runner._runs["ns.md.gate"].process.pid
    seen = wait_done(runner, "ns.md.gate", timeout=60)
    assert seen.verdict is LoadTestVerdict.FAILED
    assert seen.message == "did not finish within 8 s (duration + grace); stopped"
    assert not group_alive(pgid)


def test_cancel_stops_runs_no_longer_needed_and_keeps_the_one_asked(
    runner: ProcessLoadTestRunner, scripted: RunningUpstream
) -> None:
    long = plan(scripted.url, duration_s=120, slos=["error_ratio <= 0"])
    runner.start("ns.a.gate", "gate", long)
    runner.start("ns.b.gate", "gate", long)
    groups = {key: runner._runs[key].process.pid for key in ("ns.a.gate", "ns.b.gate")}
    assert runner.cancel("ns.a.", keep="ns.a.gate") == []
    assert runner.cancel("ns.a.") == ["ns.a.gate"]
    assert runner.observe("gate", "ns.a.gate") is None  # forgotten: a new ask starts afresh
    assert not group_alive(groups["ns.a.gate"])
    assert group_alive(groups["ns.b.gate"])  # another ModelDeployment's run is untouched
    runner.close()
    assert not group_alive(groups["ns.b.gate"])
