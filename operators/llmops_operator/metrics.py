"""The operator's Prometheus metrics (one per transition, weights, analysis results, leadership)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, start_http_server

from llmops_operator.settings import OperatorSettings

TRANSITIONS = Counter(
    "llmops_operator_transitions_total",
    "Rollout transitions (one per Kubernetes Event), by phase and reason.",
    ["namespace", "modeldeployment", "phase", "reason"],
)
CANARY_WEIGHT = Gauge(
    "llmops_operator_canary_weight_percent",
    "Percent of traffic on the candidate revision.",
    ["namespace", "modeldeployment"],
)
MEASUREMENTS = Counter(
    "llmops_operator_analysis_measurements_total",
    "Analysis measurements, by metric and result.",
    ["namespace", "modeldeployment", "metric", "result"],
)
TICK_SECONDS = Gauge(
    "llmops_operator_last_tick_duration_seconds",
    "Duration of the last reconcile tick.",
    ["namespace", "modeldeployment"],
)
LEADER = Gauge(
    "llmops_operator_leader",
    "1 while this replica holds the leader-election Lease (and acts), else 0.",
    ["identity"],
)
LEADER_TRANSITIONS = Counter(
    "llmops_operator_leader_transitions_total",
    "Times this replica became the leader (acquired) or stopped being it (lost).",
    ["identity", "change"],
)


def serve_metrics(settings: OperatorSettings) -> None:
    """``/metrics`` on ``bind_address:metrics_port``, in a thread of its own."""
    start_http_server(settings.metrics_port, addr=settings.bind_address)
