"""The Mann-Whitney U test against values scipy.stats.mannwhitneyu(method="asymptotic")
gives (its documentation's example, and two computed by hand)."""

from __future__ import annotations

import math

import pytest

from llmops_operator.core.rollout.statistics import mann_whitney_u, median, rank_average


def test_should_match_scipys_documented_example() -> None:
    # scipy's docs: males vs females, U1 = 17, asymptotic two-sided p = 0.11134688653314041.
    result = mann_whitney_u([19, 22, 16, 29, 24], [20, 11, 17, 12])

    assert result.u == 17
    assert result.p_value == pytest.approx(0.11134688653314041, rel=1e-12)


def test_should_find_a_clean_shift_significant_one_sided() -> None:
    # U1 = 0 of 25; sigma = sqrt(25 * 11 / 12); z = (25 - 12.5 - 0.5) / sigma = 2.5067.
    less = mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], alternative="less")
    greater = mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], alternative="greater")

    assert less.p_value == pytest.approx(0.5 * math.erfc(2.5067182457620487 / math.sqrt(2)))
    assert less.p_value == pytest.approx(0.006093, abs=1e-6)
    # The other side: z = (0 - 12.5 - 0.5) / sigma = -2.7156, no evidence x is greater.
    assert greater.p_value == pytest.approx(0.996692, abs=1e-6)


def test_should_correct_the_variance_for_ties() -> None:
    # Ranks 2,2,2 and 5,5,5: U1 = 3, U = max(3, 6) = 6; tie term 2 * (27 - 3) = 48;
    # variance = 9/12 * (7 - 48/30) = 4.05; z = (6 - 4.5 - 0.5) / sqrt(4.05).
    result = mann_whitney_u([1, 1, 2], [1, 2, 2])

    assert rank_average([1, 1, 2, 1, 2, 2]) == [2, 2, 5, 2, 5, 5]
    assert result.u == 3
    assert result.z == pytest.approx(1 / math.sqrt(4.05))
    assert result.p_value == pytest.approx(math.erfc(result.z / math.sqrt(2)))


def test_should_see_no_shift_when_every_value_ties() -> None:
    assert mann_whitney_u([1, 1, 1], [1, 1, 1]).p_value == 1.0


def test_should_take_the_middle_of_an_even_sample_as_median() -> None:
    assert median([4, 1, 3, 2]) == 2.5
    assert median([3, 1, 2]) == 2
