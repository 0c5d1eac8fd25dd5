"""From records to the report's data: metrics per target, verdict, time series, sweep result.

`analyze` is the one function the runner calls after Locust exits; its result is plain
JSON-ready data (``report.json`` is a dump of it plus the environment and versions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from llmops_loadtest.core.gate import Gate, Verdict, evaluate_gate
from llmops_loadtest.core.metrics import (
    Metrics,
    compute_metrics,
    compute_ratios,
    error_counts,
    error_examples,
)
from llmops_loadtest.core.profile import Profile
from llmops_loadtest.core.records import RequestRecord
from llmops_loadtest.core.schedule import Stage
from llmops_loadtest.core.stats import (
    LATENCIES,
    latency_samples,
    percentile,
    select_measured,
    summarize,
)

MAX_BUCKETS = 120


def bucket_seconds(duration_s: float) -> float:
    """1 s buckets, widened so a long run draws at most ``MAX_BUCKETS`` points."""
    width = 1.0
    while duration_s / width > MAX_BUCKETS:
        width *= 2
    return width


def build_timeseries(
    records: Sequence[RequestRecord], run_start: float, duration_s: float
) -> list[dict[str, float | None]]:
    """Per bucket of completion time: throughput, errors and latency percentiles."""
    width = bucket_seconds(duration_s)
    count = max(int(duration_s / width + 0.999), 1)
    buckets: list[list[RequestRecord]] = [[] for _ in range(count)]
    for record in records:
        index = int((record.ended_at - run_start) / width)
        buckets[min(max(index, 0), count - 1)].append(record)
    series = []
    for index, bucket in enumerate(buckets):
        ok = [record for record in bucket if record.success]
        ttft = [record.ttft_s for record in ok if record.ttft_s is not None]
        itl = [gap for record in ok for gap in record.itl_s]
        series.append(
            {
                "t_s": index * width,
                "requests_per_s": len(bucket) / width,
                "errors_per_s": (len(bucket) - len(ok)) / width,
                "output_tokens_per_s": sum(record.output_tokens for record in ok) / width,
                "ttft_p50_s": percentile(ttft, 50),
                "ttft_p95_s": percentile(ttft, 95),
                "itl_p95_s": percentile(itl, 95),
                "e2e_p95_s": percentile([record.e2e_s for record in ok], 95),
            }
        )
    return series


def _distributions(records: Sequence[RequestRecord]) -> dict[str, dict[str, Any]]:
    return {name: asdict(summarize(latency_samples(records, name))) for name in LATENCIES}


def summarize_target(
    records: Sequence[RequestRecord], window: tuple[float, float], gate: Gate
) -> tuple[Metrics, dict[str, Any]]:
    """Metrics (for the gate) and the readable summary of one target's measured records."""
    request_slo = gate.request_slo.to_request_slo() if gate.request_slo else None
    metrics = compute_metrics(records, window[1] - window[0], request_slo)
    summary = {
        "metrics": metrics,
        "latency_s": _distributions(records),
        "errors": error_counts(records),
        "error_examples": error_examples(records),
        "tokens_from_usage": all(record.tokens_from_usage for record in records if record.success),
    }
    return metrics, summary


def verdict_data(verdict: Verdict) -> dict[str, Any]:
    return {
        "passed": verdict.passed,
        "headline": verdict.headline(),
        "slos": [asdict(result) for result in verdict.results],
    }


def analyze_stages(
    records: Sequence[RequestRecord],
    run_start: float,
    stages: list[Stage],
    *,
    settle_s: float,
    gate: Gate,
    measured_s: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Judge every stage of a sweep or a ramp on its own, its first ``settle_s`` left out.

    ``measured_s`` (offsets from the start) clips each stage to the run's measured window:
    a stage entirely inside the warm-up or cool-down is not judged. Names the highest rate
    (sweep) and the highest concurrency (ramp) whose stage met every SLO: how far this
    target can be pushed before it misses its objectives.
    """
    rows = []
    best_rate: float | None = None
    best_achieved: float | None = None
    best_users: int | None = None
    first, last = measured_s or (0.0, stages[-1].end_s if stages else 0.0)
    for stage in stages:
        start = run_start + max(stage.start_s + settle_s, first)
        end = run_start + min(stage.end_s, last)
        if end <= start:
            continue  # inside the warm-up or the cool-down: nothing of it is measured
        own = [r for r in records if r.started_at >= run_start + stage.start_s]
        own = [r for r in own if r.started_at < end]
        measured = [r for r in own if r.started_at >= start and r.ended_at <= end]
        metrics, _ = summarize_target(measured, (start, end), gate)
        verdict = evaluate_gate(gate, metrics)
        if verdict.passed:
            if stage.rate_rps is not None and stage.rate_rps >= (best_rate or 0.0):
                best_rate, best_achieved = stage.rate_rps, metrics["requests_per_s"]
            best_users = max(best_users or 0, stage.users)
        rows.append(
            {
                "stage": stage.label,
                "rate_rps": stage.rate_rps,
                "users": stage.users,
                "measured_window_s": [start - run_start, end - run_start],
                "requests_excluded": len(own) - len(measured),
                "metrics": metrics,
                "verdict": verdict_data(verdict),
            }
        )
    return {
        "max_passing_rate_rps": best_rate,
        # what the target actually served at that stage: short stages and a saturated
        # target fall short of the asked rate
        "max_passing_achieved_rps": best_achieved,
        "max_passing_users": best_users,
        "stages": rows,
    }


def count_excluded(
    records: Sequence[RequestRecord], window_start: float, window_end: float
) -> dict[str, int]:
    """How many requests the warm-up and the cool-down windows left out of the verdict."""
    warmup = sum(1 for r in records if r.started_at < window_start)
    cooldown = sum(1 for r in records if r.started_at >= window_start and r.ended_at > window_end)
    return {"warmup": warmup, "cooldown": cooldown, "measured": len(records) - warmup - cooldown}


def analyze(
    records: Sequence[RequestRecord],
    *,
    run_start: float,
    run_end: float,
    profile: Profile,
    gate: Gate,
    targets: Sequence[str] = ("target",),
) -> dict[str, Any]:
    """Everything the report shows, as JSON-ready data.

    With two targets (compare mode, ``("baseline", "candidate")``) the gate's absolute SLOs
    judge the candidate and its ``ratios`` judge candidate / baseline.
    """
    window = (run_start + profile.warmup_s, run_end - profile.cooldown_s)
    per_target: dict[str, Any] = {}
    metrics_by_target: dict[str, Metrics] = {}
    for target in targets:
        own = [record for record in records if record.target == target]
        measured = select_measured(own, run_start, run_end, profile.warmup_s, profile.cooldown_s)
        metrics, summary = summarize_target(measured, window, gate)
        summary["timeseries"] = build_timeseries(own, run_start, run_end - run_start)
        summary["all_requests"] = len(own)
        summary["requests_by_window"] = count_excluded(own, *window)
        per_target[target] = summary
        metrics_by_target[target] = metrics
    judged = targets[-1]
    ratios = None
    if len(targets) == 2:
        ratios = compute_ratios(metrics_by_target[targets[0]], metrics_by_target[targets[1]])
    verdict = evaluate_gate(gate, metrics_by_target[judged], ratios)
    data: dict[str, Any] = {
        "run": {
            "started_at": run_start,
            "ended_at": run_end,
            "duration_s": run_end - run_start,
            "measured_window_s": [window[0] - run_start, window[1] - run_start],
            "warmup_s": profile.warmup_s,
            "cooldown_s": profile.cooldown_s,
        },
        "targets": per_target,
        "judged_target": judged,
        "ratios": ratios,
        "verdict": verdict_data(verdict),
    }
    if profile.is_sweep:
        settle = float(getattr(profile.load, "settle_s", 0.0))
        sweep = analyze_stages(records, run_start, profile.stages(), settle_s=settle, gate=gate)
        data["sweep"] = sweep
        data["verdict"] = _sweep_verdict(sweep)
    elif profile.load.shape == "step_ramp":
        # the verdict stays the whole measured window's; each step is judged for the table
        window_s = (profile.warmup_s, profile.duration_s - profile.cooldown_s)
        data["ramp"] = analyze_stages(
            records, run_start, profile.stages(), settle_s=0.0, gate=gate, measured_s=window_s
        )
    return data


def _sweep_verdict(sweep: dict[str, Any]) -> dict[str, Any]:
    """A sweep passes when some rate met every SLO; its verdict is that rate's."""
    stages = sweep["stages"]
    passing = [row for row in stages if row["verdict"]["passed"]]
    chosen = passing[-1] if passing else stages[0]
    verdict = dict(chosen["verdict"])
    verdict["headline"] = f"{verdict['headline']} at {chosen['stage']}"
    return verdict
