"""Analysis: which PromQL queries are due, how one value is judged, how runs add up.

Contract:
- a value is *inconclusive* when Prometheus is unreachable, the query fails, or the result
  is empty or NaN (no traffic reached the revision): never a success;
- a measurement is one batch of all the gate's metrics taken at one instant; a batch fails
  if any metric fails, else is inconclusive if any is; the gate fails when failed batches
  exceed ``failureLimit``, pauses when inconclusive batches exceed ``inconclusiveLimit``,
  and succeeds after ``count`` batches;
- warm-up is excluded twice: no batch is taken before ``canaryReadyAt + warmup``, and the
  PromQL range window never reaches back before that instant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from llmops_operator.core.spec.schema import AnalysisSpec, parse_duration
from llmops_operator.core.state.status import AnalysisRun, MeasurementResult

_HIST = "histogram_quantile(0.95, sum by (le) (rate({metric}_bucket{{{sel}}}[{window}])))"
BUILTINS: dict[str, str] = {
    # A counter without a single error has no series at all: `or vector(0)` makes that 0,
    # while no *requests* still yields no data (inconclusive), never a success.
    "error-rate": (
        "(sum(rate(llmops_gateway_errors_total{{{sel}}}[{window}])) or vector(0))"
        " / sum(rate(llmops_gateway_requests_total{{{sel}}}[{window}]))"
    ),
    "ttft-p95": _HIST.replace("{metric}", "llmops_gateway_time_to_first_token_seconds"),
    "itl-p95": _HIST.replace("{metric}", "llmops_gateway_inter_token_latency_seconds"),
    "queue-depth": 'max(vllm:num_requests_waiting{{namespace="{namespace}",pod=~"{pods}-.*"}})',
}


class GateVerdict(StrEnum):
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"


@dataclass(frozen=True)
class MetricQuery:
    """One query to run now; ``max``/``min`` are the pass bounds."""

    metric: str
    promql: str
    max: float | None = None
    min: float | None = None


@dataclass(frozen=True)
class QueryTarget:
    """Whose metrics: the gateway alias, the role label, namespace and Deployment name."""

    alias: str
    role: str
    namespace: str
    deployment: str


def build_queries(gate: AnalysisSpec, target: QueryTarget, window_s: int) -> list[MetricQuery]:
    """The gate's built-in thresholds and custom metrics as PromQL over ``window_s``."""
    window = f"{max(window_s, 1)}s"
    sel = f'model="{target.alias}",revision="{target.role}"'
    fill = {"sel": sel, "window": window, "namespace": target.namespace, "pods": target.deployment}
    queries: list[MetricQuery] = []
    for metric, bound in (
        ("error-rate", gate.max_error_rate),
        ("ttft-p95", gate.max_ttft_p95_seconds),
        ("itl-p95", gate.max_itl_p95_seconds),
        ("queue-depth", gate.max_queue_depth),
    ):
        if bound is not None:
            queries.append(MetricQuery(metric, BUILTINS[metric].format(**fill), max=float(bound)))
    for custom in gate.metrics:
        promql = (
            custom.query.replace("{{alias}}", target.alias)
            .replace("{{revision}}", target.role)
            .replace("{{namespace}}", target.namespace)
            .replace("{{window}}", window)
        )
        queries.append(MetricQuery(custom.name, promql, max=custom.max, min=custom.min))
    return queries


def judge(
    query: MetricQuery, value: float | None, error: str = ""
) -> tuple[MeasurementResult, str]:
    """Successful / Failed / Inconclusive for one value, with a readable message."""
    if error:
        return MeasurementResult.INCONCLUSIVE, error
    if value is None or math.isnan(value):
        return MeasurementResult.INCONCLUSIVE, "no data (no traffic reached the revision?)"
    if query.max is not None and value > query.max:
        return MeasurementResult.FAILED, f"{value:.4g} > max {query.max:.4g}"
    if query.min is not None and value < query.min:
        return MeasurementResult.FAILED, f"{value:.4g} < min {query.min:.4g}"
    return MeasurementResult.SUCCESSFUL, f"{value:.4g} within bounds"


def warmup_end(ready_at: datetime | None, warmup_s: int) -> datetime | None:
    return None if ready_at is None else ready_at + timedelta(seconds=warmup_s)


def next_batch_at(
    gate: AnalysisSpec, step_started_at: datetime, warm_end: datetime, runs: list[AnalysisRun]
) -> datetime:
    """When the next batch is due: one interval after the later of step start, warm-up end
    and the previous batch (a window needs time to fill with post-warm-up samples)."""
    interval = timedelta(seconds=parse_duration(gate.interval))
    last = max((run.at for run in runs), default=None)
    start = max(step_started_at, warm_end)
    return (max(start, last) if last else start) + interval


def window_seconds(gate: AnalysisSpec, warm_end: datetime, now: datetime) -> int:
    """The range window, clamped so it never reaches into the warm-up."""
    since_warm = int((now - warm_end).total_seconds())
    return max(1, min(parse_duration(gate.window), since_warm))


def evaluate(gate: AnalysisSpec, runs: list[AnalysisRun]) -> tuple[GateVerdict, str]:
    """Add up the batches of one gate (runs of one step, grouped by their instant)."""
    batches: dict[datetime, list[AnalysisRun]] = {}
    for run in runs:
        batches.setdefault(run.at, []).append(run)
    failed = inconclusive = 0
    for batch in batches.values():
        results = {run.result for run in batch}
        if MeasurementResult.FAILED in results:
            failed += 1
        elif MeasurementResult.INCONCLUSIVE in results:
            inconclusive += 1
    summary = (
        f"{len(batches)}/{gate.count} measurements, {failed} failed, {inconclusive} inconclusive"
    )
    if failed > gate.failure_limit:
        worst = next(r for r in reversed(runs) if r.result is MeasurementResult.FAILED)
        return GateVerdict.FAILED, f"{summary}; {worst.metric}: {worst.message}"
    if inconclusive > gate.inconclusive_limit:
        last = next(r for r in reversed(runs) if r.result is MeasurementResult.INCONCLUSIVE)
        return GateVerdict.INCONCLUSIVE, f"{summary}; {last.metric}: {last.message}"
    if len(batches) >= gate.count:
        return GateVerdict.SUCCESSFUL, summary
    return GateVerdict.RUNNING, summary
