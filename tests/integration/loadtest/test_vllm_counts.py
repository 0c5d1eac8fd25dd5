"""Against the real vLLM on the CPU: the report's counts equal vLLM's own /metrics counters.

Request, prompt-token and generation-token counts must match exactly (every request ends:
Locust's stop timeout lets the last ones finish); mean end-to-end latency must be within
tolerance of vLLM's own histogram (the client sees the server's time plus HTTP overhead).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from llmops_infra.engine import EngineHandle
from tests.integration.loadtest.conftest import run_cli, write

COUNTERS = (
    "vllm:request_success_total",
    "vllm:prompt_tokens_total",
    "vllm:generation_tokens_total",
    "vllm:e2e_request_latency_seconds_sum",
    "vllm:e2e_request_latency_seconds_count",
)
PROFILE = """
name: vllm-counts
api: completions
prompts: {kind: fixed, input_tokens: 16, output_tokens: 8}
load: {shape: fixed_concurrency, users: 2, duration_s: 5}
extra_body: {ignore_eos: true, temperature: 0}
"""
GATE = "slos: ['error_ratio <= 0', 'ttft_p95_s <= 30']\nmin_requests: 2\n"


def _counters(base_url: str) -> dict[str, float]:
    """Sum of each counter over its label sets (finished_reason, model ...)."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    totals = dict.fromkeys(COUNTERS, 0.0)
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in totals:
            totals[name] += float(line.rsplit(" ", 1)[1])
    return totals


def test_report_counts_match_vllm_metrics_exactly(tmp_path: Path, engine: EngineHandle) -> None:
    api = engine.url("generate")  # http://127.0.0.1:18000/v1
    base = api.removesuffix("/v1")
    before = _counters(base)
    result = run_cli(
        "run", "--target", base, "-p", str(write(tmp_path / "p.yaml", PROFILE)),
        "-g", str(write(tmp_path / "g.yaml", GATE)), "-o", str(tmp_path / "o"),
    )  # fmt: skip
    after = _counters(base)
    assert result.code == 0, result.stderr + result.stdout
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    totals = report["totals_including_excluded_windows"]["target"]
    delta = {name: after[name] - before[name] for name in COUNTERS}
    assert totals["requests"] == totals["successes"] >= 2
    assert delta["vllm:request_success_total"] == totals["successes"]
    assert delta["vllm:prompt_tokens_total"] == totals["input_tokens"]
    assert (
        delta["vllm:generation_tokens_total"] == totals["output_tokens"] == 8 * totals["requests"]
    )
    server_e2e = (
        delta["vllm:e2e_request_latency_seconds_sum"]
        / delta["vllm:e2e_request_latency_seconds_count"]
    )
    client_e2e = report["targets"]["target"]["latency_s"]["e2e"]["mean"]
    assert server_e2e * 0.95 <= client_e2e <= server_e2e + 0.5
    assert report["versions"]["target"]["models"][0]["id"] == "gemma-3-270m"
    assert report["targets"]["target"]["tokens_from_usage"] is True
