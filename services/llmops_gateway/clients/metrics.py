"""Prometheus metrics of the gateway, on a registry of its own (one per app instance).

Names carry units (``_seconds``, ``_tokens_total``); generation metrics are labelled with
``route`` (the API endpoint: chat, completions, embeddings, rag, ingest), ``model`` (the alias the
client asked for) and ``revision`` (stable / canary / preview of the backend that served):
the labels the rollout operator's analysis queries select on.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_ITL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_GEN = ("route", "model", "revision")
# Prompt length in tokens (the backend's usage) and the retrieval's best cosine similarity.
_PROMPT_TOKEN_BUCKETS = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
_SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0)


class GatewayMetrics:
    """Every metric the gateway exports (``/metrics``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "llmops_gateway_requests_total",
            "Requests answered, by HTTP status code.",
            [*_GEN, "code"],
            registry=r,
        )
        self.errors = Counter(
            "llmops_gateway_errors_total",
            "Failed requests, by error type (OpenAI error code).",
            [*_GEN, "type"],
            registry=r,
        )
        self.ttft = Histogram(
            "llmops_gateway_time_to_first_token_seconds",
            "From request received to first streamed token sent.",
            _GEN,
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.itl = Histogram(
            "llmops_gateway_inter_token_latency_seconds",
            "Between consecutive streamed chunks of one response.",
            _GEN,
            buckets=_ITL_BUCKETS,
            registry=r,
        )
        self.latency = Histogram(
            "llmops_gateway_request_duration_seconds",
            "End-to-end latency, from request received to last byte sent.",
            _GEN,
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.retrieval = Histogram(
            "llmops_gateway_retrieval_duration_seconds",
            "Embedding the query and searching the collection.",
            [*_GEN, "collection"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.prompt_tokens = Counter(
            "llmops_gateway_prompt_tokens_total",
            "Input tokens, as reported by the backend's usage.",
            _GEN,
            registry=r,
        )
        self.completion_tokens = Counter(
            "llmops_gateway_completion_tokens_total",
            "Output tokens, as reported by the backend's usage.",
            _GEN,
            registry=r,
        )
        self.prompt_length = Histogram(
            "llmops_gateway_prompt_length_tokens",
            "Prompt tokens of one request (the backend's usage; not observed without usage).",
            _GEN,
            buckets=_PROMPT_TOKEN_BUCKETS,
            registry=r,
        )
        self.retrieval_top_score = Histogram(
            "llmops_gateway_retrieval_top_score",
            "Cosine similarity of a retrieval's best hit, before min_score (none without hits).",
            [*_GEN, "collection"],
            buckets=_SCORE_BUCKETS,
            registry=r,
        )
        self.answers = Counter(
            "llmops_gateway_answers_total",
            "Generated answers served (200), by outcome: answered, empty (no text) or "
            "refusal (the model declined or said it does not know).",
            [*_GEN, "outcome"],
            registry=r,
        )
        self.team_tokens = Counter(
            "llmops_gateway_team_tokens_total",
            "Tokens used per team (direction: in or out).",
            ["team", "direction"],
            registry=r,
        )
        self.guardrail = Counter(
            "llmops_gateway_guardrail_decisions_total",
            "Guardrail decisions by check and action (allow is not counted).",
            ["route", "model", "check", "action"],
            registry=r,
        )
        self.fallbacks = Counter(
            "llmops_gateway_backend_fallbacks_total",
            "Requests moved to another backend because one could not be reached.",
            ["model", "backend"],
            registry=r,
        )
        self.in_flight = Gauge(
            "llmops_gateway_requests_in_flight",
            "Requests being served right now.",
            ["route"],
            registry=r,
        )
        self.routing_reloads = Counter(
            "llmops_gateway_routing_table_reloads_total",
            "Routing table loads by result (ok or error).",
            ["result"],
            registry=r,
        )
        self.feedback = Counter(
            "llmops_gateway_feedback_total",
            "User ratings recorded against a response (rating: up or down).",
            ["model", "revision", "rating"],
            registry=r,
        )
        self.ingested_chunks = Counter(
            "llmops_gateway_ingested_chunks_total",
            "Chunks written by ingestion (result: added, unchanged, removed).",
            ["collection", "result"],
            registry=r,
        )
        self.overload_rejections = Counter(
            "llmops_gateway_overload_rejections_total",
            "POST requests answered 429 at once: max_concurrent_requests were in flight.",
            ["path"],
            registry=r,
        )
