"""Step ramps and goodput sweeps end to end, against a scripted upstream whose time to first
token grows with the requests it has in flight (0.05 s + 0.1 s per other request), so more
load means slower answers and the gate ``ttft_p95_s <= 0.35`` has a knee to find.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmops_loadtest.testing.process import RunningUpstream, start_upstream
from tests.integration.loadtest.conftest import CliResult, run_cli, write

GATE = "slos: ['ttft_p95_s <= 0.35', 'error_ratio <= 0']\nmin_requests: 2\n"
PROMPTS = "prompts: {kind: fixed, input_tokens: 8, output_tokens: 4}\n"


@pytest.fixture(scope="module")
def saturating() -> Iterator[RunningUpstream]:
    with start_upstream(ttft_s=0.05, itl_s=0.005, ttft_per_inflight_s=0.1) as running:
        yield running


def _run(tmp_path: Path, url: str, profile: str) -> tuple[CliResult, dict[str, Any]]:
    out = tmp_path / "out"
    result = run_cli(
        "run", "--target", url, "-p", str(write(tmp_path / "p.yaml", profile + PROMPTS)),
        "-g", str(write(tmp_path / "g.yaml", GATE)), "-o", str(out),
    )  # fmt: skip
    assert (out / "report.json").is_file(), result.stderr + result.stdout
    return result, json.loads((out / "report.json").read_text())


def test_a_step_ramp_judges_each_step_and_names_the_highest_concurrency_that_passed(
    tmp_path: Path, saturating: RunningUpstream
) -> None:
    result, report = _run(
        tmp_path,
        saturating.url,
        "name: ramp\nload: {shape: step_ramp, start_users: 1, step_users: 2, steps: 3, step_s: 2}\n"
        "warmup_s: 1\n",
    )
    steps = report["ramp"]["stages"]
    assert [step["users"] for step in steps] == [1, 3, 5]
    p95 = [step["metrics"]["ttft_p95_s"] for step in steps]
    assert p95 == sorted(p95), p95  # more users, slower first tokens
    assert [step["verdict"]["passed"] for step in steps] == [True, True, False]
    assert report["ramp"]["max_passing_users"] == 3
    # the whole measured window mixes every step; 5 users pull its p95 over the limit
    assert result.code == 1, result.stderr
    assert result.stdout.startswith("FAIL: ttft_p95_s <= 0.35")
    # warm-up visibly applied: the first step's window starts after it, requests left out
    assert report["run"]["measured_window_s"][0] == 1.0
    assert steps[0]["measured_window_s"] == [1.0, 2.0]
    windows = report["targets"]["target"]["requests_by_window"]
    assert windows["warmup"] > 0
    assert windows["measured"] == report["targets"]["target"]["metrics"]["requests"]
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "Step ramp: the highest concurrency meeting every SLO is **3 users**." in summary
    # the banner says which SLO failed and by how much
    page = (tmp_path / "out" / "report.html").read_text()
    banner = re.search(r'<div class="banner fail">.*?</div>', page, re.S)
    assert banner is not None
    assert re.search(r"ttft_p95_s &lt;= 0.35: observed [\d.]+ ms, [\d.]+ ms over the limit",
                     banner.group(0))  # fmt: skip
    assert "scripted-upstream" in banner.group(0)


def test_a_goodput_sweep_reports_the_highest_rate_that_met_the_slos(
    tmp_path: Path, saturating: RunningUpstream
) -> None:
    result, report = _run(
        tmp_path,
        saturating.url,
        "name: sweep\nload: {shape: goodput_sweep, rates_rps: [2, 5, 20], step_s: 3, "
        "settle_s: 0.5, max_users: 8, arrival: constant}\n",
    )
    stages = report["sweep"]["stages"]
    assert [stage["rate_rps"] for stage in stages] == [2, 5, 20]
    assert [stage["verdict"]["passed"] for stage in stages] == [True, True, False], [
        stage["verdict"]["headline"] for stage in stages
    ]
    assert report["sweep"]["max_passing_rate_rps"] == 5
    # a sweep passes at its best rate, and says which one
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("PASS (2/2 SLOs met) at 5 req/s (constant)")
    # each stage's settle time is left out, and the count of what it left out is there
    assert [stage["measured_window_s"] for stage in stages] == [[0.5, 3.0], [3.5, 6.0], [6.5, 9.0]]
    assert sum(stage["requests_excluded"] for stage in stages) > 0
    out = tmp_path / "out"
    summary = (out / "summary.md").read_text()
    achieved = report["sweep"]["max_passing_achieved_rps"]
    assert achieved == stages[1]["metrics"]["requests_per_s"] > 0
    best = f"5 req/s ({achieved:.2f}/s achieved)"
    assert f"Goodput sweep: the highest rate meeting every SLO is **{best}**." in summary
    page = (out / "report.html").read_text()
    assert f"<h2>Goodput sweep: highest rate meeting every SLO: {best}</h2>" in page
    assert page.count("<tr class='ok'><td>") >= 2
