"""Gates against scripted local upstreams: slow and failing targets fail naming the SLO,
an unreachable one exits 2, distributed mode counts every request, compare mode judges ratios.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx

from llmops_loadtest.testing.process import RunningUpstream
from tests.integration.loadtest.conftest import run_cli, write

PROFILE = """
name: scripted
api: completions
prompts: {kind: fixed, input_tokens: 12, output_tokens: 6}
load: {shape: fixed_concurrency, users: 4, duration_s: 5}
warmup_s: 1
cooldown_s: 0.5
"""
GATE = """
slos:
  - ttft_p95_s <= 0.3
  - itl_p95_s <= 0.05
  - error_ratio <= 0.01
min_requests: 5
"""


def _files(tmp_path: Path) -> tuple[str, str]:
    return str(write(tmp_path / "p.yaml", PROFILE)), str(write(tmp_path / "g.yaml", GATE))


def test_a_healthy_target_passes_and_counts_match_the_upstream_with_two_workers(
    tmp_path: Path, fast_upstream: RunningUpstream
) -> None:
    profile, gate = _files(tmp_path)
    out = tmp_path / "out"
    result = run_cli(
        "run", "--target", fast_upstream.url, "-p", profile, "-g", gate, "-o", str(out),
        "--workers", "2",
    )  # fmt: skip
    assert result.code == 0, result.stderr + result.stdout
    assert result.stdout.startswith("PASS (3/3 SLOs met)")
    report = json.loads((out / "report.json").read_text())
    served = httpx.get(f"{fast_upstream.url}/stats").json()
    totals = report["totals_including_excluded_windows"]["target"]
    assert totals["requests"] == served["requests"] > 20
    assert totals["output_tokens"] == served["completion_tokens"]
    assert totals["input_tokens"] == served["prompt_tokens"]
    assert len(list((out / "records").glob("*.jsonl"))) == 2  # one file per worker process
    assert report["environment"]["locust_workers"] == 2
    assert report["versions"]["target"]["models"][0]["id"] == "scripted-upstream"
    assert (out / "summary.md").read_text().startswith("## Load test `scripted`: **PASS**")


def test_a_slow_target_fails_the_gate_naming_the_ttft_slo(
    tmp_path: Path, upstream: Callable[..., AbstractContextManager[RunningUpstream]]
) -> None:
    profile, gate = _files(tmp_path)
    with upstream(ttft_s=0.6, itl_s=0.005) as slow:
        result = run_cli(
            "run", "--target", slow.url, "-p", profile, "-g", gate, "-o", str(tmp_path / "o")
        )
    assert result.code == 1, result.stderr
    assert result.stdout.startswith("FAIL: ttft_p95_s <= 0.3 (observed 0.6")
    verdict = json.loads((tmp_path / "o" / "report.json").read_text())["verdict"]
    assert [slo["metric"] for slo in verdict["slos"] if not slo["passed"]] == ["ttft_p95_s"]


def test_a_failing_target_fails_the_error_ratio_slo(
    tmp_path: Path, upstream: Callable[..., AbstractContextManager[RunningUpstream]]
) -> None:
    profile, gate = _files(tmp_path)
    with upstream(ttft_s=0.01, error_rate=0.3, seed=1) as failing:
        result = run_cli(
            "run", "--target", failing.url, "-p", profile, "-g", gate, "-o", str(tmp_path / "o")
        )
    assert result.code == 1, result.stderr
    assert "error_ratio <= 0.01" in result.stdout
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert set(report["targets"]["target"]["errors"]) == {"http_5xx"}


def test_an_unreachable_target_exits_2_with_one_line(tmp_path: Path) -> None:
    profile, gate = _files(tmp_path)
    result = run_cli(
        "run",
        "--target",
        "http://127.0.0.1:9",
        "-p",
        profile,
        "-g",
        gate,
        "-o",
        str(tmp_path / "o"),
    )
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error target http://127.0.0.1:9: unreachable (ConnectError")
    assert "Traceback" not in result.stderr


def test_a_bad_profile_exits_2_before_any_load(
    tmp_path: Path, fast_upstream: RunningUpstream
) -> None:
    _, gate = _files(tmp_path)
    bad = write(tmp_path / "bad.yaml", "name: x\nload: {shape: rocket, users: 1}\n")
    result = run_cli("run", "--target", fast_upstream.url, "-p", str(bad), "-g", gate)
    assert result.code == 2
    assert result.stderr.strip().startswith(f"error profile {bad}: load:")
    assert httpx.get(f"{fast_upstream.url}/stats").json()["requests"] == 0


def test_compare_interleaves_targets_and_fails_on_the_candidates_ratio(
    tmp_path: Path, upstream: Callable[..., AbstractContextManager[RunningUpstream]]
) -> None:
    profile = write(tmp_path / "p.yaml", PROFILE)
    gate = write(
        tmp_path / "g.yaml",
        "slos: ['error_ratio <= 0.01']\nratios: ['ttft_p95_s <= 1.5', 'error_ratio <= 2']\n",
    )
    with upstream(ttft_s=0.05) as baseline, upstream(ttft_s=0.2) as candidate:
        result = run_cli(
            "compare", "--baseline", baseline.url, "--candidate", candidate.url,
            "-p", str(profile), "-g", str(gate), "-o", str(tmp_path / "o"),
        )  # fmt: skip
        served = [
            httpx.get(f"{url}/stats").json()["requests"] for url in (baseline.url, candidate.url)
        ]
    assert result.code == 1, result.stderr
    assert result.stdout.startswith("FAIL: ttft_p95_s <= 1.5 (observed ")
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["mode"] == "compare"
    assert 2.0 < report["ratios"]["ttft_p95_s"] < 4.5  # 0.2 s vs 0.05 s + client overhead
    assert report["ratios"]["error_ratio"] == 1.0  # no error on either side
    # interleaved: each user alternates, so both sides get the same number of requests (+-users)
    assert abs(served[0] - served[1]) <= 4
