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

from llmops_operator.core.rollout.statistics import Alternative, mann_whitney_u, median
from llmops_operator.core.signals.series import Scope, Source, signal
from llmops_operator.core.spec.schema import AnalysisSpec, CustomMetric, parse_duration
from llmops_operator.core.state.status import AnalysisRun, MeasurementResult

# The gate's built-in thresholds: which signal each one bounds (`core.signals.series`).
BUILTIN_BOUNDS = (
    ("error-rate", "max_error_rate"),
    ("ttft-p95", "max_ttft_p95_seconds"),
    ("itl-p95", "max_itl_p95_seconds"),
    ("queue-depth", "max_queue_depth"),
)


class GateVerdict(StrEnum):
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"


@dataclass(frozen=True)
class SampleQuery:
    """A range query for Mann-Whitney: samples over the last ``range_s``, one per ``step_s``."""

    canary: str
    stable: str
    range_s: int
    step_s: int
    direction: str
    confidence_level: float
    min_samples: int


@dataclass(frozen=True)
class Comparison:
    """Judge the canary against the stable over the same window."""

    stable_promql: str
    max_ratio: float | None = None
    min_ratio: float | None = None
    samples: SampleQuery | None = None


@dataclass(frozen=True)
class MetricQuery:
    """One query to run now; ``max``/``min`` are the pass bounds, ``comparison`` the relative
    ones (the stable's value and samples are queried too)."""

    metric: str
    promql: str
    max: float | None = None
    min: float | None = None
    comparison: Comparison | None = None


@dataclass(frozen=True)
class QueryTarget:
    """Whose metrics: the gateway alias, the role label, namespace and the Deployment names
    of the candidate and (for comparisons) of the stable."""

    alias: str
    role: str
    namespace: str
    deployment: str
    stable_deployment: str = ""

    def selector(self, source: Source, *, stable: bool = False) -> str:
        """The label matchers of one revision's series (see `core.signals.series`)."""
        if source == "engine":
            pods = self.stable_deployment if stable else self.deployment
            return f'namespace="{self.namespace}",pod=~"{pods}-.*"'
        return f'model="{self.alias}",revision="{"stable" if stable else self.role}"'

    def scope(self, source: Source, window: str, *, stable: bool = False) -> Scope:
        """One revision's scope over ``window``; drift signals compare it with the stable."""
        return Scope(
            window,
            self.selector(source, stable=stable),
            reference=self.selector(source, stable=True),
        )


def _fill(query: str, target: QueryTarget, window: str, *, stable: bool = False) -> str:
    return (
        query.replace("{{alias}}", target.alias)
        .replace("{{revision}}", "stable" if stable else target.role)
        .replace("{{namespace}}", target.namespace)
        .replace("{{window}}", window)
    )


def build_metric_promql(
    metric: CustomMetric, target: QueryTarget, window: str, *, stable: bool = False
) -> str:
    """The metric's PromQL for the candidate (or the stable) over ``window``."""
    if metric.query is not None:
        return _fill(metric.query, target, window, stable=stable)
    assert metric.signal is not None
    found = signal(metric.signal)
    return found.expr(target.scope(found.source, window, stable=stable))


def build_comparison(metric: CustomMetric, target: QueryTarget, window_s: int) -> Comparison | None:
    if metric.compare_to is None:
        return None
    window = f"{max(window_s, 1)}s"
    samples = None
    mw = metric.mann_whitney
    if mw is not None:
        step = parse_duration(mw.interval)
        samples = SampleQuery(
            canary=build_metric_promql(metric, target, mw.interval),
            stable=build_metric_promql(metric, target, mw.interval, stable=True),
            range_s=max(window_s, step),
            step_s=step,
            direction=mw.direction,
            confidence_level=mw.confidence_level,
            min_samples=mw.min_samples,
        )
    return Comparison(
        stable_promql=build_metric_promql(metric, target, window, stable=True),
        max_ratio=metric.max_ratio,
        min_ratio=metric.min_ratio,
        samples=samples,
    )


def build_queries(gate: AnalysisSpec, target: QueryTarget, window_s: int) -> list[MetricQuery]:
    """The gate's built-in thresholds and metrics as PromQL over ``window_s``."""
    window = f"{max(window_s, 1)}s"
    queries: list[MetricQuery] = []
    for key, field in BUILTIN_BOUNDS:
        bound = getattr(gate, field)
        if bound is not None:
            found = signal(key)
            promql = found.expr(target.scope(found.source, window))
            queries.append(MetricQuery(key, promql, max=float(bound)))
    for metric in gate.metrics:
        queries.append(
            MetricQuery(
                metric.name,
                build_metric_promql(metric, target, window),
                max=metric.max,
                min=metric.min,
                comparison=build_comparison(metric, target, window_s),
            )
        )
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


def judge_ratio(
    comparison: Comparison, value: float | None, stable: float | None, error: str = ""
) -> tuple[MeasurementResult, str]:
    """The canary's value over the stable's, against ``maxRatio``/``minRatio``."""
    if error:
        return MeasurementResult.INCONCLUSIVE, error
    if value is None or stable is None or math.isnan(value) or math.isnan(stable):
        return MeasurementResult.INCONCLUSIVE, "no data for the canary or the stable"
    # 0 over 0 is a ratio of 1; anything over a stable 0 is an infinite ratio.
    ratio = value / stable if stable else (1.0 if value == 0 else math.inf)
    where = f"{value:.4g} vs stable {stable:.4g}: ratio {ratio:.3g}"
    if comparison.max_ratio is not None and ratio > comparison.max_ratio:
        return MeasurementResult.FAILED, f"{where} > max {comparison.max_ratio:.3g}"
    if comparison.min_ratio is not None and ratio < comparison.min_ratio:
        return MeasurementResult.FAILED, f"{where} < min {comparison.min_ratio:.3g}"
    return MeasurementResult.SUCCESSFUL, f"{where} within bounds"


def judge_samples(
    samples: SampleQuery, canary: list[float], stable: list[float], error: str = ""
) -> tuple[MeasurementResult, str, float | None]:
    """Mann-Whitney over the two sides' samples: result, message and the p-value."""
    if error:
        return MeasurementResult.INCONCLUSIVE, error, None
    canary = [x for x in canary if not math.isnan(x)]
    stable = [x for x in stable if not math.isnan(x)]
    if min(len(canary), len(stable)) < samples.min_samples:
        return (
            MeasurementResult.INCONCLUSIVE,
            f"Mann-Whitney: {len(canary)} canary and {len(stable)} stable samples, "
            f"fewer than {samples.min_samples}",
            None,
        )
    test = mann_whitney_u(canary, stable, alternative=_ALTERNATIVE[samples.direction])
    alpha = 1 - samples.confidence_level
    where = (
        f"Mann-Whitney U={test.u:.4g} p={test.p_value:.3g} over {test.n1}+{test.n2} samples "
        f"(median {median(canary):.4g} vs stable {median(stable):.4g})"
    )
    if test.p_value < alpha:
        return MeasurementResult.FAILED, f"{where}: shifted ({samples.direction})", test.p_value
    return MeasurementResult.SUCCESSFUL, f"{where}: no {samples.direction} shown", test.p_value


def combine(verdicts: list[tuple[MeasurementResult, str]]) -> tuple[MeasurementResult, str]:
    """One metric's checks (bounds, ratio, Mann-Whitney) as one result: the worst wins."""
    results = {result for result, _ in verdicts}
    message = "; ".join(text for _, text in verdicts)
    for result in (MeasurementResult.FAILED, MeasurementResult.INCONCLUSIVE):
        if result in results:
            return result, message
    return MeasurementResult.SUCCESSFUL, message


_ALTERNATIVE: dict[str, Alternative] = {
    "increase": "greater",
    "decrease": "less",
    "either": "two-sided",
}


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
    runs = [run for run in runs if run.counted]  # no data over a window still filling: left out
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
