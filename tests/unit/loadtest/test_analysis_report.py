"""From records to the verdict, the JSON-ready analysis and the rendered report."""

from __future__ import annotations

import base64
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from llmops_loadtest.core.analysis import analyze, build_timeseries
from llmops_loadtest.core.gate import Gate
from llmops_loadtest.core.profile import Profile
from llmops_loadtest.core.records import ErrorKind
from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.inputs import load_gate, load_profile
from llmops_loadtest.report.html import render_html
from llmops_loadtest.report.markdown import render_markdown
from llmops_loadtest.report.plots import PLOT_NAMES
from llmops_loadtest.run import build_report
from tests.unit.loadtest.helpers import failed, ok

START = 1000.0
PROFILE = Profile.model_validate(
    {
        "name": "unit",
        "load": {"shape": "fixed_concurrency", "users": 2, "duration_s": 10},
        "warmup_s": 2,
        "cooldown_s": 1,
    }
)
GATE = Gate.model_validate({"slos": ["ttft_p95_s <= 0.5", "error_ratio <= 0.2"]})


def _records() -> list[Any]:
    fast = [ok(START + t, e2e_s=0.5, ttft_s=0.1) for t in (2.0, 3.0, 4.0, 5.0, 6.0, 7.0)]
    return [ok(START + 0.5, ttft_s=3.0, e2e_s=1.0), *fast, failed(START + 8.0)]


def test_warmup_outliers_do_not_decide_the_verdict() -> None:
    data = analyze(_records(), run_start=START, run_end=START + 10, profile=PROFILE, gate=GATE)
    metrics = data["targets"]["target"]["metrics"]
    assert metrics["requests"] == 7  # the warm-up request (TTFT 3 s) is left out
    assert metrics["ttft_p95_s"] == pytest.approx(0.1)
    assert metrics["error_ratio"] == pytest.approx(1 / 7)
    assert data["verdict"]["passed"]
    assert data["run"]["measured_window_s"] == [2.0, 9.0]


def test_timeseries_buckets_by_completion_second() -> None:
    series = build_timeseries([ok(START + 0.2, e2e_s=0.5), failed(START + 1.5)], START, 3.0)
    assert [row["requests_per_s"] for row in series] == [1.0, 1.0, 0.0]
    assert [row["errors_per_s"] for row in series] == [0.0, 1.0, 0.0]


def test_compare_mode_judges_ratios_of_candidate_to_baseline() -> None:
    gate = Gate.model_validate({"slos": ["error_ratio <= 0.5"], "ratios": ["ttft_p95_s <= 1.5"]})
    records = [ok(START + 3 + i, ttft_s=0.1, target="baseline") for i in range(3)]
    records += [ok(START + 3.5 + i, ttft_s=0.2, target="candidate") for i in range(3)]
    data = analyze(
        records, run_start=START, run_end=START + 10, profile=PROFILE, gate=gate,
        targets=("baseline", "candidate"),
    )  # fmt: skip
    assert data["ratios"]["ttft_p95_s"] == pytest.approx(2.0)
    assert not data["verdict"]["passed"]
    assert data["verdict"]["headline"].startswith("FAIL: ttft_p95_s <= 1.5")


def test_a_sweep_names_the_highest_rate_meeting_the_slos() -> None:
    profile = Profile.model_validate(
        {"name": "sweep", "load": {"shape": "goodput_sweep", "rates_rps": [1, 2, 4], "step_s": 10}}
    )
    records = [ok(START + 1 + i, ttft_s=0.1) for i in range(5)]  # 1 req/s: fast
    records += [ok(START + 11 + i, ttft_s=0.2) for i in range(5)]  # 2 req/s: fine
    records += [ok(START + 21 + i, ttft_s=0.9) for i in range(5)]  # 4 req/s: too slow
    data = analyze(records, run_start=START, run_end=START + 30, profile=profile, gate=GATE)
    assert data["sweep"]["max_passing_rate_rps"] == 2
    assert data["verdict"]["passed"]
    assert data["verdict"]["headline"].endswith("at 2 req/s (poisson)")


def _report() -> dict[str, Any]:
    versions = {"target": {"url": "http://t", "models": [{"id": "m1"}], "server_version": "0.1"}}
    return build_report(
        PROFILE, GATE, records=_records(), started_at=START, versions=versions, workers=1,
        labels=["target"],
    )  # fmt: skip


def test_html_report_is_self_contained_with_every_plot() -> None:
    page = render_html(_report(), _records())
    assert "PASS" in page
    for name in PLOT_NAMES:
        match = re.search(
            rf'data-plot="{name}"><img alt="{name}" src="data:image/png;base64,([^"]+)"', page
        )
        assert match is not None, name
        assert base64.b64decode(match.group(1)).startswith(b"\x89PNG")
    assert "<script" not in page and "http://" not in page.replace("http://t", "")


def test_markdown_summary_has_the_verdict_and_slo_table() -> None:
    text = render_markdown(_report())
    assert text.startswith("## Load test `unit`: **PASS**")
    assert "| `ttft_p95_s <= 0.5` | 100.0 ms | <= 500.0 ms | 400.0 ms headroom | pass |" in text
    assert "`m1`" in text


def test_bad_profile_and_gate_files_become_one_line_errors(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("name: x\nload: {shape: fixed_concurrency, users: 0, duration_s: 5}\n")
    with pytest.raises(LoadtestError, match=r"load\.fixed_concurrency\.users: Input should be"):
        load_profile(profile)
    gate = tmp_path / "g.yaml"
    gate.write_text("slos: ['ttft_p95 <= 1']\n")
    with pytest.raises(LoadtestError, match="unknown metric 'ttft_p95'") as caught:
        load_gate(gate)
    assert "\n" not in caught.value.one_line()
    with pytest.raises(LoadtestError, match="cannot read"):
        load_gate(tmp_path / "missing.yaml")


def test_a_failed_report_shows_each_error_kind_with_its_first_message() -> None:
    said = 'HTTP 503: {"error": {"message": "no backend | of alias rag is ready"}}'
    records = [
        *_records(),
        dataclasses.replace(failed(START + 8.5), error=said),  # the same kind: not shown
        dataclasses.replace(failed(START + 8.7, ErrorKind.TIMEOUT), error="read timeout " * 40),
    ]
    report = build_report(
        PROFILE, GATE, records=records, started_at=START, workers=1, labels=["target"],
        versions={"target": {"url": "http://t", "models": [{"id": "m1"}]}},
    )  # fmt: skip
    target = report["targets"]["target"]
    assert target["errors"] == {"http_5xx": 2, "timeout": 1}
    assert target["error_examples"]["http_5xx"] == "boom"  # the first of its kind
    assert len(target["error_examples"]["timeout"]) == 300
    assert target["error_examples"]["timeout"].endswith("...")
    text = render_markdown(report)
    assert "| failed requests | kind | count | first message |" in text
    assert "| target | `http_5xx` | 2 | boom |" in text
    assert "| target | `timeout` | 1 | read timeout read timeout" in text
    page = render_html(report, records)
    assert "target: http_5xx &times; 2: <code>boom</code>" in page
    # A message with a pipe stays inside its cell.
    first = dataclasses.replace(failed(START + 8.0), error=said)
    report = build_report(
        PROFILE, GATE, records=[*_records()[:-1], first], started_at=START, workers=1,
        labels=["target"], versions={"target": {"url": "http://t", "models": [{"id": "m1"}]}},
    )  # fmt: skip
    assert "no backend \\| of alias rag is ready" in render_markdown(report)


def test_a_report_without_failures_has_no_error_table() -> None:
    records = [r for r in _records() if r.success]
    report = build_report(
        PROFILE, GATE, records=records, started_at=START, workers=1, labels=["target"],
        versions={"target": {"url": "http://t", "models": [{"id": "m1"}]}},
    )  # fmt: skip
    assert "failed requests" not in render_markdown(report)
