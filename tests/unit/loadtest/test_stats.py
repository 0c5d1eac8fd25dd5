"""Percentile, window and goodput math against hand-computed cases."""

from __future__ import annotations

import pytest

from llmops_loadtest.core.stats import (
    RequestSlo,
    goodput_count,
    latency_samples,
    percentile,
    select_measured,
    summarize,
)
from tests.unit.loadtest.helpers import failed, ok


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),  # rank 1.5: halfway between 2 and 3
        ([1.0, 2.0, 3.0, 4.0], 95, 3.85),  # rank 2.85: 3 + 0.85 * (4 - 3)
        ([1.0, 2.0, 3.0, 4.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        ([4.0, 1.0, 3.0, 2.0], 25, 1.75),  # unsorted input; rank 0.75
        ([10.0, 20.0, 30.0, 40.0, 50.0], 90, 46.0),  # rank 3.6: 40 + 0.6 * 10
        ([7.0], 99, 7.0),
    ],
)
def test_percentile_interpolates_between_closest_ranks(
    values: list[float], p: float, expected: float
) -> None:
    assert percentile(values, p) == pytest.approx(expected)


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 50) is None


def test_percentile_outside_0_100_is_refused() -> None:
    with pytest.raises(ValueError, match="within"):
        percentile([1.0], 101)


def test_summarize_gives_mean_max_and_percentiles() -> None:
    dist = summarize([0.1, 0.2, 0.3, 0.4, 1.0])
    assert dist.count == 5
    assert dist.mean == pytest.approx(0.4)
    assert dist.max == 1.0
    assert dist.p50 == pytest.approx(0.3)
    assert dist.p90 == pytest.approx(0.76)  # rank 3.6: 0.4 + 0.6 * 0.6


def test_itl_pools_every_gap_and_skips_failures() -> None:
    records = [ok(0, itl_s=(0.1, 0.2)), ok(1, itl_s=(0.3,)), failed(2)]
    assert latency_samples(records, "itl") == [0.1, 0.2, 0.3]
    assert latency_samples(records, "e2e") == [1.0, 1.0]


def test_windows_drop_requests_that_touch_warmup_or_cooldown() -> None:
    records = [
        ok(100.5, e2e_s=0.2),  # inside warm-up
        ok(101.9, e2e_s=0.2),  # starts in warm-up (ends after it): excluded
        ok(102.0, e2e_s=1.0),  # measured
        ok(106.5, e2e_s=1.0),  # ends in cool-down: excluded
    ]
    measured = select_measured(records, run_start=100, run_end=110, warmup_s=2, cooldown_s=3)
    assert [record.started_at for record in measured] == [102.0]


def test_goodput_counts_requests_meeting_every_target() -> None:
    records = [
        ok(0, ttft_s=0.1, e2e_s=1.0),  # good
        ok(1, ttft_s=0.6, e2e_s=1.0),  # TTFT too slow
        ok(2, ttft_s=0.1, e2e_s=2.1, output_tokens=3),  # tpot (2.1-0.1)/2 = 1.0 > 0.5
        failed(3),  # a failure is never good
    ]
    slo = RequestSlo(ttft_s=0.5, tpot_s=0.5)
    assert goodput_count(records, slo) == 1
    assert goodput_count(records, RequestSlo()) == 3  # no target: every success counts
