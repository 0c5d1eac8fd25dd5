"""Percentiles, windows, throughput and goodput over request records (pure, no I/O).

Percentiles use linear interpolation between closest ranks (NumPy's default, "type 7"):
for sorted values ``v`` of length ``n``, ``p`` in [0, 100] sits at rank ``(n - 1) * p / 100``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from llmops_loadtest.core.records import RequestRecord

PERCENTILES: tuple[int, ...] = (50, 90, 95, 99)
LATENCIES: tuple[str, ...] = ("ttft", "itl", "tpot", "e2e")


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile of ``values`` (linear interpolation), ``None`` when empty."""
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within [0, 100], got {p}")
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class Distribution:
    """Summary of one latency in seconds; every field ``None`` without samples."""

    count: int
    mean: float | None
    max: float | None
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None

    def get(self, stat: str) -> float | None:
        """``stat`` is ``mean``, ``max`` or ``p50`` ... ``p99``."""
        value = getattr(self, stat, None)
        return value if isinstance(value, float) or value is None else float(value)


def summarize(values: Sequence[float]) -> Distribution:
    if not values:
        return Distribution(0, None, None, None, None, None, None)
    return Distribution(
        count=len(values),
        mean=sum(values) / len(values),
        max=max(values),
        p50=percentile(values, 50),
        p90=percentile(values, 90),
        p95=percentile(values, 95),
        p99=percentile(values, 99),
    )


def latency_samples(records: Sequence[RequestRecord], latency: str) -> list[float]:
    """Samples of ``ttft``/``itl``/``tpot``/``e2e`` from successful records.

    ITL pools every gap of every request (as vLLM's benchmark does): a long answer weighs
    more than a short one, which is what a reader of streamed text feels.
    """
    ok = [record for record in records if record.success]
    if latency == "itl":
        return [gap for record in ok for gap in record.itl_s]
    if latency == "ttft":
        return [record.ttft_s for record in ok if record.ttft_s is not None]
    if latency == "tpot":
        return [record.tpot_s for record in ok if record.tpot_s is not None]
    if latency == "e2e":
        return [record.e2e_s for record in ok]
    raise ValueError(f"unknown latency {latency!r}; one of {', '.join(LATENCIES)}")


def select_measured(
    records: Sequence[RequestRecord],
    run_start: float,
    run_end: float,
    warmup_s: float,
    cooldown_s: float,
) -> list[RequestRecord]:
    """Records that started after the warm-up and ended before the cool-down window.

    A request straddling either edge is excluded: its latency mixes two load levels.
    """
    window_start = run_start + warmup_s
    window_end = run_end - cooldown_s
    return [
        record
        for record in records
        if record.started_at >= window_start and record.ended_at <= window_end
    ]


@dataclass(frozen=True, slots=True)
class RequestSlo:
    """Per-request targets that make a request count towards goodput (DistServe's sense)."""

    ttft_s: float | None = None
    tpot_s: float | None = None
    e2e_s: float | None = None

    def is_met_by(self, record: RequestRecord) -> bool:
        if not record.success:
            return False
        checks = (
            (self.ttft_s, record.ttft_s),
            (self.tpot_s, record.tpot_s),
            (self.e2e_s, record.e2e_s),
        )
        for limit, value in checks:
            if limit is None:
                continue
            if value is None or value > limit:
                return False
        return True


def goodput_count(records: Sequence[RequestRecord], slo: RequestSlo) -> int:
    """How many requests succeeded and met every per-request target."""
    return sum(1 for record in records if slo.is_met_by(record))
