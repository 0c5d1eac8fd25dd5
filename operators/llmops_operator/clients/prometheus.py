"""Prometheus queries with a timeout. Unreachable or failing = inconclusive.

Instant queries for bounds and ratios; for a Mann-Whitney comparison, range queries of the
canary and the stable over the same window, ending now (Kayenta's way of sampling).
"""

from __future__ import annotations

import math
import time
from typing import Any

import httpx

from llmops_operator.core.rollout.interface import Measurement
from llmops_operator.core.rollout.measurements import (
    MetricQuery,
    SampleQuery,
    combine,
    judge,
    judge_ratio,
    judge_samples,
)
from llmops_operator.core.state.status import MeasurementResult


def _get(base_url: str, path: str, params: dict[str, Any], timeout_s: float) -> tuple[Any, str]:
    try:
        response = httpx.get(f"{base_url.rstrip('/')}{path}", params=params, timeout=timeout_s)
        body = response.json()
    except (httpx.HTTPError, ValueError) as err:
        return None, f"Prometheus unreachable: {type(err).__name__}: {err}"
    if response.status_code != 200 or body.get("status") != "success":
        return None, f"query failed: {body.get('error', response.status_code)}"
    return body["data"], ""


def query_scalar(base_url: str, promql: str, timeout_s: float) -> tuple[float | None, str]:
    """The first sample's value (None for an empty vector) or an error message."""
    data, error = _get(base_url, "/api/v1/query", {"query": promql}, timeout_s)
    if error:
        return None, error
    result = data["result"]
    if data["resultType"] == "scalar":
        return float(result[1]), ""
    if not result:
        return None, ""
    value = float(result[0]["value"][1])
    return (None if math.isnan(value) else value), ""


def query_samples(
    base_url: str, promql: str, *, range_s: int, step_s: int, timeout_s: float, end: float
) -> tuple[list[float], str]:
    """The values of the first series over ``[end - range_s, end]``, one per ``step_s``."""
    params = {"query": promql, "start": end - range_s, "end": end, "step": step_s}
    data, error = _get(base_url, "/api/v1/query_range", params, timeout_s)
    if error:
        return [], error
    result = data["result"]
    if not result:
        return [], ""
    return [float(value) for _, value in result[0]["values"]], ""


def measure_samples(
    base_url: str, samples: SampleQuery, timeout_s: float
) -> tuple[MeasurementResult, str, str]:
    """Mann-Whitney's result and message, and the query error if one failed."""
    end = time.time()
    sides = [
        query_samples(
            base_url,
            promql,
            range_s=samples.range_s,
            step_s=samples.step_s,
            timeout_s=timeout_s,
            end=end,
        )
        for promql in (samples.canary, samples.stable)
    ]
    error = sides[0][1] or sides[1][1]
    result, message, _ = judge_samples(samples, sides[0][0], sides[1][0], error)
    return result, message, error


def measure_one(base_url: str, query: MetricQuery, timeout_s: float) -> Measurement:
    """One metric: its bounds, then its comparison with the stable; the worst result wins."""
    value, error = query_scalar(base_url, query.promql, timeout_s)
    errors = [error]
    threshold = query.max if query.max is not None else query.min
    verdicts: list[tuple[MeasurementResult, str]] = []
    if query.max is not None or query.min is not None:
        verdicts.append(judge(query, value, error))
    comparison = query.comparison
    if comparison is not None:
        if comparison.max_ratio is not None or comparison.min_ratio is not None:
            stable, stable_error = query_scalar(base_url, comparison.stable_promql, timeout_s)
            errors.append(stable_error)
            verdicts.append(judge_ratio(comparison, value, stable, error or stable_error))
            if threshold is None:
                threshold = comparison.max_ratio or comparison.min_ratio
        if comparison.samples is not None:
            result, message, samples_error = measure_samples(
                base_url, comparison.samples, timeout_s
            )
            verdicts.append((result, message))
            errors.append(samples_error)
    result, message = combine(verdicts)
    no_data = result is MeasurementResult.INCONCLUSIVE and not any(errors)
    return Measurement(query.metric, value, threshold, result, message, no_data=no_data)


def measure(base_url: str, queries: list[MetricQuery], timeout_s: float) -> list[Measurement]:
    """Run every due query and judge it."""
    return [measure_one(base_url, query, timeout_s) for query in queries]
