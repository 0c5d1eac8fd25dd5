"""The alerts, each with its runbook section (docs/runbooks/alerts.md#<alert name, lowercase>).

Alerts read the recorded series (`llmops_operator.core.signals`) where one exists, so a page
and the operator's rollout analysis judge a revision on the same numbers. Thresholds are Helm
placeholders for ``observability.alerts`` values; `helm_label` quotes Prometheus templating.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmops_operator.core.signals.series import (
    BURN_RATE_WINDOWS,
    DRIFT_REFERENCE_WINDOW,
    DRIFT_WINDOW,
    TTFT_SLO_OBJECTIVE,
    TTFT_SLO_SECONDS_LE,
    signal,
)

RUNBOOK_PAGE = "docs/runbooks/alerts.md"


def value(key: str) -> str:
    """A Helm placeholder for ``observability.alerts.<key>``."""
    return f"{{{{ .Values.observability.alerts.{key} }}}}"


def helm_label(name: str) -> str:
    """``{{ $labels.name }}`` as Prometheus needs it, quoted so Helm's ``tpl`` leaves it."""
    return f'{{{{ "{{{{ $labels.{name} }}}}" }}}}'


def helm_value(function: str = "humanize") -> str:
    """``{{ $value | humanize }}`` for Prometheus, quoted for Helm."""
    return f'{{{{ "{{{{ $value | {function} }}}}" }}}}'


HELM_VALUE = helm_value()
PERCENT = helm_value("humanizePercentage")


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    severity: str
    summary: str
    description: str
    for_: str = ""
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        """The runbook section's anchor: the heading (the alert's name) as mkdocs slugs it."""
        return self.name.lower()

    def rule(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"alert": self.name, "expr": self.expr}
        if self.for_:
            rule["for"] = self.for_
        rule["labels"] = {"severity": self.severity, **self.labels}
        rule["annotations"] = {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": (
                f"{{{{ .Values.observability.runbookBaseUrl }}}}{RUNBOOK_PAGE}#{self.anchor}"
            ),
        }
        return rule


_MODEL = f"{helm_label('model')} ({helm_label('revision')}) in {helm_label('namespace')}"
_BUDGET = 1 - TTFT_SLO_OBJECTIVE


def _slow(window: str) -> str:
    return signal("ttft-slow-ratio").record(window)


def _burn(pairs: tuple[tuple[str, str, float, str], ...]) -> str:
    parts = [
        f"({_slow(long)} > {rate * _BUDGET:.4g} and {_slow(short)} > {rate * _BUDGET:.4g})"
        for long, short, rate, _ in pairs
    ]
    return "\n  or\n".join(parts)


_FAST = tuple(w for w in BURN_RATE_WINDOWS if w[3] == "critical")
_SLOW = tuple(w for w in BURN_RATE_WINDOWS if w[3] == "warning")
_SLO = f"{TTFT_SLO_OBJECTIVE:.0%} of requests get their first token within {TTFT_SLO_SECONDS_LE} s"

REVISION_ALERTS: tuple[Alert, ...] = (
    Alert(
        "LlmopsRevisionErrorRatioHigh",
        f"{signal('error-rate').record()} > {value('errorRatio')}",
        "critical",
        f"{_MODEL}: {PERCENT} of requests fail",
        "More than the allowed share of this revision's requests failed over 5 minutes "
        "(gateway errors by backend role). During a rollout the operator's analysis judges "
        "the canary on the same series.",
        for_="5m",
    ),
    Alert(
        "LlmopsTtftBudgetBurnFast",
        _burn(_FAST),
        "critical",
        f"{_MODEL}: TTFT error budget burning fast",
        f"SLO: {_SLO}. At this burn rate (14.4x over 1h and 5m, or 6x over 6h and 30m) the "
        "30-day error budget is gone within days.",
        for_="2m",
    ),
    Alert(
        "LlmopsTtftBudgetBurnSlow",
        _burn(_SLOW),
        "warning",
        f"{_MODEL}: TTFT error budget burning",
        f"SLO: {_SLO}. At this burn rate (3x over 1d and 2h, or 1x over 3d and 6h) the "
        "30-day error budget runs out before the month does.",
        for_="15m",
    ),
    Alert(
        "LlmopsQueueSaturated",
        f"{signal('queue-depth').record()} > {value('queueDepth')}",
        "warning",
        f"{_MODEL}: {HELM_VALUE} requests waiting in one replica's queue",
        "vLLM queues requests it has no room to run; they wait before their first token. "
        "Sustained for 10 minutes: the revision needs more replicas or less traffic.",
        for_="10m",
    ),
    Alert(
        "LlmopsKvCacheNearlyFull",
        f"{signal('kv-cache-usage').record()} > {value('kvCacheUsage')}",
        "warning",
        f"{_MODEL}: KV cache {PERCENT} full",
        "A replica's KV cache has stayed nearly full for 10 minutes: vLLM preempts running "
        "requests and queues new ones.",
        for_="10m",
    ),
    Alert(
        "LlmopsRevisionDrift",
        f"{signal('drift').record()} > {value('drift')}",
        "warning",
        f"{_MODEL}: drifted {HELM_VALUE} from the stable's {DRIFT_REFERENCE_WINDOW} reference",
        f"Over the last {DRIFT_WINDOW}, the revision's prompt length (relative), best-hit "
        "retrieval similarity, share of empty or refused answers, or share of up ratings "
        f"(absolute, 0-1) moved that far from the alias's stable over {DRIFT_REFERENCE_WINDOW}, "
        "for 30 minutes: its traffic or its answers changed.",
        for_="30m",
    ),
)

PLATFORM_ALERTS: tuple[Alert, ...] = (
    Alert(
        "LlmopsGatewayNoHealthyBackend",
        "sum by (namespace, model) (rate("
        'llmops_gateway_errors_total{type="no_backend_available"}[5m]))'
        "\n  / sum by (namespace, model) (rate(llmops_gateway_requests_total[5m])) > 0.5",
        "critical",
        f"gateway in {helm_label('namespace')}: no backend for {helm_label('model')}",
        "More than half of the alias's requests were answered 503 no_backend_available: "
        "no backend of the alias could be reached (or Milvus is down, for RAG).",
        for_="2m",
    ),
    Alert(
        "LlmopsMilvusDown",
        'up{job=~".*milvus.*"} == 0',
        "critical",
        f"Milvus {helm_label('instance')} in {helm_label('namespace')} is down",
        "Prometheus cannot scrape Milvus: retrieval (RAG requests, ingestion) fails.",
        for_="5m",
    ),
    Alert(
        "LlmopsMilvusSlow",
        f"max by (namespace, model) ({signal('retrieval-p95').record()})"
        f" > {value('retrievalP95Seconds')}",
        "warning",
        f"retrieval for {helm_label('model')} in {helm_label('namespace')}: p95 {HELM_VALUE}s",
        "Embedding the query and searching Milvus takes longer than allowed at p95 for 10 "
        "minutes; every RAG answer waits for it before its first token.",
        for_="10m",
    ),
    Alert(
        "LlmopsRolloutStuck",
        "sum by (namespace, modeldeployment) (increase("
        'llmops_operator_transitions_total{reason="ProgressDeadlineExceeded"}[30m])) > 0'
        "\n  or\n"
        "max by (namespace, modeldeployment) ("
        "(llmops_operator_canary_weight_percent > 0 < 100)"
        " and changes(llmops_operator_canary_weight_percent[1h]) == 0"
        # Only a series an hour old can have held still for an hour.
        " and llmops_operator_canary_weight_percent offset 1h)",
        "warning",
        f"rollout {helm_label('namespace')}/{helm_label('modeldeployment')} is stuck",
        "The candidate missed its progress deadline (and was rolled back), or traffic has "
        "been split between two revisions for an hour without a step.",
        for_="5m",
    ),
    Alert(
        "LlmopsOperatorNoLeader",
        "sum by (namespace) (llmops_operator_leader) < 1",
        "warning",
        f"no llmops operator replica in {helm_label('namespace')} has held the leader Lease "
        "for 5 minutes: rollouts stand still",
        "Every operator replica exports llmops_operator_leader 1 while it holds the Lease and "
        "acts, 0 while it stands by. Replicas run but none acts: no rollout advances.",
        for_="5m",
    ),
    Alert(
        "LlmopsTeamTokenBudgetNearlySpent",
        f"{signal('team-tokens-spent').record()}"
        " / on (team) team:llmops_gateway_token_budget:tokens"
        f" > {value('tokenBudgetUsed')}",
        "warning",
        f"team {helm_label('team')} has spent over "
        "{{ mulf .Values.observability.alerts.tokenBudgetUsed 100 }}% of its 30-day token budget",
        "Tokens in and out over the last 30 days, against the team's budget in the chart's "
        "observability.tokenBudgets.",
    ),
)

ALERTS = REVISION_ALERTS + PLATFORM_ALERTS


def build_alert_groups() -> list[dict[str, Any]]:
    return [
        {"name": "llmops-revision-alerts", "rules": [a.rule() for a in REVISION_ALERTS]},
        {"name": "llmops-platform-alerts", "rules": [a.rule() for a in PLATFORM_ALERTS]},
    ]
