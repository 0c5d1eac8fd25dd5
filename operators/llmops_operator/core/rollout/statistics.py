"""The Mann-Whitney U test (pure Python; the operator does not depend on scipy).

As Kayenta's canary judge uses it: two independent samples (the canary's and the stable's
values of one metric over the same window), ranked together, without assuming normality.
The p-value is the normal approximation with the tie correction and a continuity correction
of 0.5, which equals ``scipy.stats.mannwhitneyu(x, y, method="asymptotic")``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Alternative = Literal["greater", "less", "two-sided"]


@dataclass(frozen=True)
class MannWhitneyResult:
    """``u``: U of the first sample (scipy's ``statistic``); ``z`` of the alternative."""

    u: float
    z: float
    p_value: float
    n1: int
    n2: int


def rank_average(values: Sequence[float]) -> list[float]:
    """1-based ranks; tied values share the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _tie_term(values: Sequence[float]) -> float:
    counts: dict[float, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return float(sum(t**3 - t for t in counts.values()))


def mann_whitney_u(
    x: Sequence[float], y: Sequence[float], alternative: Alternative = "two-sided"
) -> MannWhitneyResult:
    """Is ``x`` shifted against ``y``? ``greater``: are x's values larger."""
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("Mann-Whitney needs at least one value on each side")
    both = [*x, *y]
    n = n1 + n2
    r1 = sum(rank_average(both)[:n1])
    u1 = r1 - n1 * (n1 + 1) / 2
    u2 = n1 * n2 - u1
    u = {"greater": u1, "less": u2, "two-sided": max(u1, u2)}[alternative]
    mu = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - _tie_term(both) / (n * (n - 1) if n > 1 else 1))
    if variance <= 0:
        # Every value tied: no evidence of a shift in either direction.
        return MannWhitneyResult(u1, 0.0, 1.0, n1, n2)
    z = (u - mu - 0.5) / math.sqrt(variance)
    p = 0.5 * math.erfc(z / math.sqrt(2))
    if alternative == "two-sided":
        p *= 2
    return MannWhitneyResult(u1, z, min(1.0, max(0.0, p)), n1, n2)


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
