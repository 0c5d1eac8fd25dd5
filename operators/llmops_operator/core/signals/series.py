"""Each signal of a model revision as one PromQL definition (pure).

A `Signal` builds its expression for a `Scope`: a range window, a label selector and the
labels to group by. Two readers build from the same definition, so "TTFT p95 of revision X"
means one thing:

- the recording rules (`core.signals.rules`): the signal over its recording window, grouped by
  the signal's ``level`` labels (``namespace, model, revision`` for most), recorded under
  ``level:metric:operation`` (the Prometheus naming convention), e.g.
  ``model_revision:llmops_gateway_time_to_first_token_seconds:p95_5m``;
- the operator's rollout analysis (`core.rollout.measurements`): the same expression over the
  gate's window (clamped so it never reaches into warm-up, hence not the recorded series),
  selecting one revision, grouped by nothing.

Drift signals (``drift``, ``*-drift``) also read a reference: the alias's stable over
``DRIFT_REFERENCE_WINDOW``, selected by the scope's ``reference`` matchers (see below).

Labels: on the gateway's series ``model`` is the alias the client asked for and ``revision``
the role of the backend that served (``stable``, ``canary``, ``preview``). vLLM labels its
series with ``model_name`` (the served name) only; the scrape of an llm-inference pod copies
the pod's ``llmops.dev/model`` and ``llmops.dev/revision`` labels to ``model`` and
``revision`` (the charts' ServiceMonitor/PodMonitor relabelings), so on engine series
``revision`` is the revision's own label (``v2``, an MLflow version or the template hash).
The operator selects engine series by the revision's pods (``pod=~"<deployment>-.*"``), which
needs no relabelling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Source = Literal["gateway", "engine"]
REVISION_LEVEL = ("namespace", "model", "revision")


@dataclass(frozen=True)
class Scope:
    """Where a signal is evaluated: range ``window``, extra ``selector`` matchers, grouping."""

    window: str
    selector: str = ""
    by: tuple[str, ...] = ()
    # The drift signals' reference: the matchers of the revision every revision is compared
    # with (the alias's stable), over DRIFT_REFERENCE_WINDOW.
    reference: str = 'revision="stable"'

    def vector(self, metric: str, matchers: str = "") -> str:
        inner = ",".join(part for part in (self.selector, matchers) if part)
        return f"{metric}{{{inner}}}" if inner else metric

    def rate(self, metric: str, matchers: str = "") -> str:
        return f"rate({self.vector(metric, matchers)}[{self.window}])"

    def increase(self, metric: str, matchers: str = "") -> str:
        return f"increase({self.vector(metric, matchers)}[{self.window}])"

    def agg(self, op: str, inner: str, *more: str) -> str:
        return f"{op} by ({', '.join((*more, *self.by))}) ({inner})"


@dataclass(frozen=True)
class Signal:
    """One signal. ``operation`` holds ``{w}`` where the window goes (``p95_{w}``)."""

    key: str
    source: Source
    metric: str
    operation: str
    build: Callable[[Scope], str]
    help: str
    unit: str = ""
    level: tuple[str, ...] = REVISION_LEVEL
    level_name: str = "model_revision"
    windows: tuple[str, ...] = ("5m",)
    interval: str = ""  # the recording group's evaluation interval; default: by window

    def expr(self, scope: Scope) -> str:
        return self.build(scope)

    def record(self, window: str | None = None) -> str:
        """The recorded series' name at ``window`` (default: the first recording window)."""
        op = self.operation.format(w=window or self.windows[0])
        return f"{self.level_name}:{self.metric}:{op}"

    def recorded_expr(self, window: str) -> str:
        return self.expr(Scope(window=window, by=self.level))


def _quantile(q: float, metric: str) -> Callable[[Scope], str]:
    def build(s: Scope) -> str:
        return f"histogram_quantile({q}, {s.agg('sum', s.rate(f'{metric}_bucket'), 'le')})"

    return build


def _sum_rate(metric: str, matchers: str = "") -> Callable[[Scope], str]:
    return lambda s: s.agg("sum", s.rate(metric, matchers))


def _gauge(op: str, metric: str) -> Callable[[Scope], str]:
    return lambda s: s.agg(op, s.vector(metric))


def _error_ratio(s: Scope) -> str:
    # A revision without a single error has no error series at all: `or 0 * requests` makes
    # that 0 per group, while no *requests* still yields no data (inconclusive, never a pass).
    requests = s.agg("sum", s.rate("llmops_gateway_requests_total"))
    errors = s.agg("sum", s.rate("llmops_gateway_errors_total"))
    return f"({errors} or 0 * {requests}) / {requests}"


# The TTFT SLO: a request is good when its first token took at most this long. It must be a
# bucket bound of llmops_gateway_time_to_first_token_seconds (prometheus_client writes the
# `le` of 2.5 as "2.5"); the objective is the share of good requests the SLO promises.
TTFT_SLO_SECONDS_LE = "2.5"
TTFT_SLO_OBJECTIVE = 0.99
# The SRE workbook's multi-window, multi-burn-rate alerts: (long, short, burn rate, severity).
BURN_RATE_WINDOWS: tuple[tuple[str, str, float, str], ...] = (
    ("1h", "5m", 14.4, "critical"),
    ("6h", "30m", 6.0, "critical"),
    ("1d", "2h", 3.0, "warning"),
    ("3d", "6h", 1.0, "warning"),
)


def _ttft_slow_ratio(s: Scope) -> str:
    """Share of requests whose first token took longer than the SLO's bound."""
    metric = "llmops_gateway_time_to_first_token_seconds"
    good = s.agg("sum", s.rate(f"{metric}_bucket", f'le="{TTFT_SLO_SECONDS_LE}"'))
    total = s.agg("sum", s.rate(f"{metric}_count"))
    return f"1 - ({good} / {total})"


def _burn_windows() -> tuple[str, ...]:
    seen: list[str] = []
    for long, short, _, _ in BURN_RATE_WINDOWS:
        for window in (short, long):
            if window not in seen:
                seen.append(window)
    return tuple(seen)


# -- drift: how far a revision's traffic and answers moved from the alias's stable
# Each drift signal compares a revision's value over the window ("now": 1h recorded, the gate's
# window in a rollout) with the alias's *stable* over the last 7 days (the reference, which
# includes now: a day-old stack compares with its day, a fresh one with itself - drift 0).
# The stable against its own week is drift over time; a canary or preview against it is how
# far the candidate moved from what users have been getting. The shift is relative for prompt
# length (|now - ref| / ref, ref at least 1 token) and absolute for the 0-1 scales (retrieval
# similarity, unanswered share, feedback score). Either side resting on fewer than
# DRIFT_MIN_SAMPLES events in its window has no drift value (no data: inconclusive, not 0).
DRIFT_REFERENCE_WINDOW = "7d"
DRIFT_WINDOW = "1h"
DRIFT_MIN_SAMPLES = 10
_DRIFT_INTERVAL = "5m"


@dataclass(frozen=True)
class _Measure:
    """A per-revision value that drifts: its PromQL, the events it rests on, the shift kind,
    and its recorded name (``metric``, ``operation``) and help."""

    key: str
    value: Callable[[Scope], str]
    events: Callable[[Scope], str]
    metric: str
    operation: str
    help: str
    unit: str
    relative_floor: float | None = None  # relative shift over max(ref, floor); None: absolute


def _mean(metric: str) -> Callable[[Scope], str]:
    return lambda s: f"{_sum_rate(f'{metric}_sum')(s)} / {_sum_rate(f'{metric}_count')(s)}"


def _share(metric: str, matchers: str) -> Callable[[Scope], str]:
    """The share of ``metric``'s events that match ``matchers``; none matching is 0."""

    def build(s: Scope) -> str:
        part = _sum_rate(metric, matchers)(s)
        total = _sum_rate(metric)(s)
        return f"({part} or 0 * {total}) / {total}"

    return build


def _events(metric: str) -> Callable[[Scope], str]:
    return lambda s: s.agg("sum", s.increase(metric))


_GW = "llmops_gateway"
_DRIFTING: tuple[_Measure, ...] = (
    _Measure(
        "prompt-length",
        _mean(f"{_GW}_prompt_length_tokens"),
        _events(f"{_GW}_prompt_length_tokens_count"),
        f"{_GW}_prompt_length_tokens",
        "mean_{w}",
        "Prompt length, mean tokens per request.",
        "short",
        relative_floor=1.0,
    ),
    _Measure(
        "retrieval-score",
        _mean(f"{_GW}_retrieval_top_score"),
        _events(f"{_GW}_retrieval_top_score_count"),
        f"{_GW}_retrieval_top_score",
        "mean_{w}",
        "Cosine similarity of the best retrieved hit, mean (0-1).",
        "short",
    ),
    _Measure(
        "unanswered-ratio",
        _share(f"{_GW}_answers_total", 'outcome=~"empty|refusal"'),
        _events(f"{_GW}_answers_total"),
        f"{_GW}_unanswered",
        "ratio_rate{w}",
        "Share of answers that were empty or refusals (0-1).",
        "percentunit",
    ),
    _Measure(
        "feedback-score",
        _share(f"{_GW}_feedback_total", 'rating="up"'),
        _events(f"{_GW}_feedback_total"),
        f"{_GW}_feedback_score",
        "mean_{w}",
        "Share of user ratings that were up (0-1): the feedback score.",
        "percentunit",
    ),
)


def _drift(measure: _Measure) -> Callable[[Scope], str]:
    """``measure``'s shift from the reference; no value when a side has too few events."""

    def build(s: Scope) -> str:
        ref_by = tuple(label for label in s.by if label != "revision")
        ref = Scope(DRIFT_REFERENCE_WINDOW, s.reference, ref_by)
        on = f"on ({', '.join(ref_by)})"
        now_value, ref_value = measure.value(s), measure.value(ref)
        shift = f"abs(({now_value}) - {on} group_left () ({ref_value}))"
        if measure.relative_floor is not None:
            floor = f"{measure.relative_floor:g}"
            shift = f"{shift} / {on} group_left () clamp_min({ref_value}, {floor})"
        enough = f"({measure.events(s)}) >= {DRIFT_MIN_SAMPLES}"
        enough_ref = f"({measure.events(ref)}) >= {DRIFT_MIN_SAMPLES}"
        return f"({shift}) and ({enough}) and {on} ({enough_ref})"

    return build


def _max_drift(s: Scope) -> str:
    """The largest of the revision's drift signals (those with data)."""
    parts = [f'label_replace({_drift(m)(s)}, "signal", "{m.key}", "", "")' for m in _DRIFTING]
    return s.agg("max", "\n  or ".join(parts))


def _drift_signals() -> tuple[Signal, ...]:
    """Each drifting value (recorded now and over the reference window), its drift, and the
    largest drift: the revision's drift indicator."""
    values = tuple(
        Signal(
            m.key,
            "gateway",
            m.metric,
            m.operation,
            m.value,
            m.help,
            m.unit,
            windows=(DRIFT_WINDOW, DRIFT_REFERENCE_WINDOW),
        )
        for m in _DRIFTING
    )
    drifts = tuple(
        Signal(
            f"{m.key}-drift",
            "gateway",
            m.metric,
            "drift_{w}",
            _drift(m),
            f"Drift of {m.key} from the alias's stable over {DRIFT_REFERENCE_WINDOW} "
            f"({'relative' if m.relative_floor is not None else 'absolute'} shift; no data "
            f"under {DRIFT_MIN_SAMPLES} events a side).",
            windows=(DRIFT_WINDOW,),
            interval=_DRIFT_INTERVAL,
        )
        for m in _DRIFTING
    )
    indicator = Signal(
        "drift",
        "gateway",
        f"{_GW}_drift",
        "max_{w}",
        _max_drift,
        "Drift indicator: the largest drift signal of the revision (prompt length, "
        "retrieval score, unanswered share, feedback score).",
        windows=(DRIFT_WINDOW,),
        interval=_DRIFT_INTERVAL,
    )
    return (*values, *drifts, indicator)


SIGNALS: tuple[Signal, ...] = (
    # -- the gateway: what clients see, per alias and serving role
    Signal(
        "request-rate",
        "gateway",
        f"{_GW}_requests",
        "rate{w}",
        _sum_rate(f"{_GW}_requests_total"),
        "Requests answered per second.",
        "reqps",
    ),
    Signal(
        "error-rate",
        "gateway",
        f"{_GW}_errors",
        "ratio_rate{w}",
        _error_ratio,
        "Share of requests that failed (0-1).",
        "percentunit",
    ),
    *(
        Signal(
            f"ttft-p{q}",
            "gateway",
            f"{_GW}_time_to_first_token_seconds",
            f"p{q}_{{w}}",
            _quantile(q / 100, f"{_GW}_time_to_first_token_seconds"),
            f"Time to first token, p{q}, at the gateway.",
            "s",
        )
        for q in (50, 95, 99)
    ),
    Signal(
        "itl-p95",
        "gateway",
        f"{_GW}_inter_token_latency_seconds",
        "p95_{w}",
        _quantile(0.95, f"{_GW}_inter_token_latency_seconds"),
        "Inter-token latency, p95, between streamed chunks at the gateway.",
        "s",
    ),
    Signal(
        "e2e-p95",
        "gateway",
        f"{_GW}_request_duration_seconds",
        "p95_{w}",
        _quantile(0.95, f"{_GW}_request_duration_seconds"),
        "End-to-end request latency, p95, at the gateway.",
        "s",
    ),
    Signal(
        "tokens-in-rate",
        "gateway",
        f"{_GW}_prompt_tokens",
        "rate{w}",
        _sum_rate(f"{_GW}_prompt_tokens_total"),
        "Prompt tokens per second.",
        "short",
    ),
    Signal(
        "tokens-out-rate",
        "gateway",
        f"{_GW}_completion_tokens",
        "rate{w}",
        _sum_rate(f"{_GW}_completion_tokens_total"),
        "Completion tokens per second.",
        "short",
    ),
    Signal(
        "retrieval-p95",
        "gateway",
        f"{_GW}_retrieval_duration_seconds",
        "p95_{w}",
        _quantile(0.95, f"{_GW}_retrieval_duration_seconds"),
        "Retrieval (embed the query, search Milvus), p95.",
        "s",
    ),
    Signal(
        "retrieval-rate",
        "gateway",
        f"{_GW}_retrievals",
        "rate{w}",
        _sum_rate(f"{_GW}_retrieval_duration_seconds_count"),
        "Retrievals per second.",
        "reqps",
    ),
    Signal(
        "ttft-slow-ratio",
        "gateway",
        f"{_GW}_time_to_first_token_slow",
        "ratio_rate{w}",
        _ttft_slow_ratio,
        f"Share of requests slower than the TTFT SLO ({TTFT_SLO_SECONDS_LE} s) to first token.",
        "percentunit",
        windows=_burn_windows(),
    ),
    # -- the engine (vLLM's own metrics), per served model and revision
    Signal(
        "engine-ttft-p95",
        "engine",
        "vllm_time_to_first_token_seconds",
        "p95_{w}",
        _quantile(0.95, "vllm:time_to_first_token_seconds"),
        "Time to first token, p95, inside vLLM.",
        "s",
    ),
    Signal(
        "engine-itl-p95",
        "engine",
        "vllm_inter_token_latency_seconds",
        "p95_{w}",
        _quantile(0.95, "vllm:inter_token_latency_seconds"),
        "Inter-token latency, p95, inside vLLM.",
        "s",
    ),
    Signal(
        "engine-e2e-p95",
        "engine",
        "vllm_e2e_request_latency_seconds",
        "p95_{w}",
        _quantile(0.95, "vllm:e2e_request_latency_seconds"),
        "End-to-end request latency, p95, inside vLLM.",
        "s",
    ),
    Signal(
        "engine-tokens-in-rate",
        "engine",
        "vllm_prompt_tokens",
        "rate{w}",
        _sum_rate("vllm:prompt_tokens_total"),
        "Prompt tokens vLLM processed per second.",
        "short",
    ),
    Signal(
        "engine-tokens-out-rate",
        "engine",
        "vllm_generation_tokens",
        "rate{w}",
        _sum_rate("vllm:generation_tokens_total"),
        "Tokens vLLM generated per second.",
        "short",
    ),
    Signal(
        "queue-depth",
        "engine",
        "vllm_num_requests_waiting",
        "max",
        _gauge("max", "vllm:num_requests_waiting"),
        "Requests waiting in the longest queue among the revision's replicas.",
        "short",
    ),
    Signal(
        "requests-waiting",
        "engine",
        "vllm_num_requests_waiting",
        "sum",
        _gauge("sum", "vllm:num_requests_waiting"),
        "Requests waiting, all replicas of the revision.",
        "short",
    ),
    Signal(
        "requests-running",
        "engine",
        "vllm_num_requests_running",
        "sum",
        _gauge("sum", "vllm:num_requests_running"),
        "Requests being generated, all replicas of the revision.",
        "short",
    ),
    Signal(
        "kv-cache-usage",
        "engine",
        "vllm_kv_cache_usage_perc",
        "max",
        _gauge("max", "vllm:kv_cache_usage_perc"),
        "KV-cache use of the fullest replica (0-1).",
        "percentunit",
    ),
    # -- drift: prompt length, retrieval score, unanswered share, feedback score
    *_drift_signals(),
    # -- the platform: not per revision
    Signal(
        "guardrail-blocks",
        "gateway",
        f"{_GW}_guardrail_blocks",
        "rate{w}",
        _sum_rate(f"{_GW}_guardrail_decisions_total", 'action="block"'),
        "Requests a guardrail blocked per second, by check.",
        "reqps",
        level=("namespace", "model", "check"),
        level_name="model_check",
    ),
    Signal(
        "rate-limit-rejections",
        "gateway",
        f"{_GW}_rate_limit_rejections",
        "rate{w}",
        _sum_rate(f"{_GW}_errors_total", 'type="rate_limit_exceeded"'),
        "Requests refused by a key's rate limit (HTTP 429) per second.",
        "reqps",
        level=("namespace", "route"),
        level_name="route",
    ),
    Signal(
        "team-tokens-rate",
        "gateway",
        f"{_GW}_team_tokens",
        "rate{w}",
        _sum_rate(f"{_GW}_team_tokens_total"),
        "Tokens spent per second, by team and direction (in, out).",
        "short",
        level=("namespace", "team", "direction"),
        level_name="team_direction",
    ),
    Signal(
        "team-tokens-spent",
        "gateway",
        f"{_GW}_team_tokens",
        "increase{w}",
        lambda s: s.agg("sum", s.increase(f"{_GW}_team_tokens_total")),
        "Tokens spent by a team over the budget period (in and out).",
        "short",
        level=("team",),
        level_name="team",
        windows=("30d",),
    ),
)
BY_KEY: dict[str, Signal] = {signal.key: signal for signal in SIGNALS}


def signal(key: str) -> Signal:
    """The signal named ``key`` (``ttft-p95``); KeyError names the known keys."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown signal {key!r}; known: {', '.join(BY_KEY)}") from None
