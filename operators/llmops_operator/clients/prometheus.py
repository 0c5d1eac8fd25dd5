"""Prometheus instant queries with a timeout. Unreachable or failing = inconclusive."""

from __future__ import annotations

import math

import httpx

from llmops_operator.core.rollout.interface import Measurement
from llmops_operator.core.rollout.measurements import MetricQuery, judge


def query_scalar(base_url: str, promql: str, timeout_s: float) -> tuple[float | None, str]:
    """The first sample's value (None for an empty vector) or an error message."""
    try:
        response = httpx.get(
            f"{base_url.rstrip('/')}/api/v1/query", params={"query": promql}, timeout=timeout_s
        )
        body = response.json()
    except (httpx.HTTPError, ValueError) as err:
        return None, f"Prometheus unreachable: {type(err).__name__}: {err}"
    if response.status_code != 200 or body.get("status") != "success":
        return None, f"query failed: {body.get('error', response.status_code)}"
    result = body["data"]["result"]
    if body["data"]["resultType"] == "scalar":
        return float(result[1]), ""
    if not result:
        return None, ""
    value = float(result[0]["value"][1])
    return (None if math.isnan(value) else value), ""


def measure(base_url: str, queries: list[MetricQuery], timeout_s: float) -> list[Measurement]:
    """Run every due query and judge it."""
    out: list[Measurement] = []
    for query in queries:
        value, error = query_scalar(base_url, query.promql, timeout_s)
        result, message = judge(query, value, error)
        threshold = query.max if query.max is not None else query.min
        out.append(Measurement(query.metric, value, threshold, result, message))
    return out
