"""The flat table of run metrics a gate can name (``ttft_p95_s``, ``error_ratio`` ...).

Names carry their unit: ``_s`` seconds, ``_per_s`` per second, ``_ratio`` in [0, 1];
``requests``/``failures`` are counts. A metric without samples is ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmops_loadtest.core.records import RequestRecord
from llmops_loadtest.core.stats import (
    LATENCIES,
    RequestSlo,
    goodput_count,
    latency_samples,
    summarize,
)

LATENCY_STATS: tuple[str, ...] = ("p50", "p90", "p95", "p99", "mean", "max")
RATE_METRICS: tuple[str, ...] = (
    "requests_per_s",
    "output_tokens_per_s",
    "input_tokens_per_s",
    "goodput_rps",
)
COUNT_METRICS: tuple[str, ...] = ("requests", "failures", "input_tokens", "output_tokens")
RATIO_METRICS: tuple[str, ...] = ("error_ratio", "goodput_ratio")

Metrics = dict[str, float | None]


def metric_names() -> list[str]:
    """Every name a gate may use."""
    latency = [f"{name}_{stat}_s" for name in LATENCIES for stat in LATENCY_STATS]
    return [*latency, *RATE_METRICS, *COUNT_METRICS, *RATIO_METRICS]


def compute_metrics(
    records: Sequence[RequestRecord], window_s: float, request_slo: RequestSlo | None
) -> Metrics:
    """All metrics over the measured records of one window of ``window_s`` seconds.

    Goodput needs per-request targets; without them ``goodput_*`` are ``None``.
    """
    if window_s <= 0:
        raise ValueError(f"the measured window must be positive, got {window_s} s")
    metrics: Metrics = {}
    for latency in LATENCIES:
        dist = summarize(latency_samples(records, latency))
        for stat in LATENCY_STATS:
            metrics[f"{latency}_{stat}_s"] = dist.get(stat)
    total = len(records)
    failures = sum(1 for record in records if not record.success)
    input_tokens = sum(record.input_tokens for record in records if record.success)
    output_tokens = sum(record.output_tokens for record in records if record.success)
    metrics.update(
        requests=float(total),
        failures=float(failures),
        input_tokens=float(input_tokens),
        output_tokens=float(output_tokens),
        error_ratio=failures / total if total else None,
        requests_per_s=total / window_s,
        output_tokens_per_s=output_tokens / window_s,
        input_tokens_per_s=input_tokens / window_s,
        goodput_ratio=None,
        goodput_rps=None,
    )
    if request_slo is not None:
        good = goodput_count(records, request_slo)
        metrics["goodput_ratio"] = good / total if total else None
        metrics["goodput_rps"] = good / window_s
    return metrics


def error_counts(records: Sequence[RequestRecord]) -> dict[str, int]:
    """Failed requests by error kind, most frequent first."""
    counts: dict[str, int] = {}
    for record in records:
        if not record.success:
            kind = str(record.error_kind or "unknown")
            counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


EXAMPLE_CHARS = 300  # of an error message kept as its kind's example


def error_examples(records: Sequence[RequestRecord]) -> dict[str, str]:
    """The first message of each error kind (what a person reading a failed report needs
    to see first), cut to `EXAMPLE_CHARS`; a kind whose requests said nothing is left out."""
    examples: dict[str, str] = {}
    for record in records:
        kind = str(record.error_kind or "unknown")
        if not record.success and record.error and kind not in examples:
            text = " ".join(record.error.split())
            examples[kind] = (
                text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 3] + "..."
            )
    return examples


def compute_ratios(baseline: Metrics, candidate: Metrics) -> Metrics:
    """candidate / baseline per metric: 1.0 when both are zero (no errors on either side),
    ``None`` when either side is missing or only the baseline is zero."""
    ratios: Metrics = {}
    for name, base in baseline.items():
        cand = candidate.get(name)
        if cand is None or base is None:
            ratios[name] = None
        elif base == 0:
            ratios[name] = 1.0 if cand == 0 else None
        else:
            ratios[name] = cand / base
    return ratios
