"""The one settings object of the gateway.

Every value can be set from the environment with the ``LLMOPS_GATEWAY_`` prefix, e.g.
``LLMOPS_GATEWAY_ROUTING_TABLE=/etc/llmops/routing.yaml``. Nothing else in the gateway reads
``os.environ``; the app factory receives this object and passes it along.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

GuardPolicy = Literal["off", "flag", "redact", "block"]


class GatewaySettings(BaseSettings):
    """How the gateway listens, where its routing table and keys live, and its limits."""

    model_config = SettingsConfigDict(env_prefix="LLMOPS_GATEWAY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    keep_alive_timeout_s: float = Field(
        default=75.0,
        description=(
            "Idle keep-alive of client connections. Longer than the idle timeout of the load "
            "balancer in front (often 60 s): if the gateway closed first, a request sent on "
            "the closing connection would fail."
        ),
    )
    upstream_keep_alive_s: float = Field(
        default=4.0,
        description="Idle upstream connections are dropped after this; below vLLM's 5 s.",
    )

    # -- routing -------------------------------------------------------------------
    routing_table: Path | None = Field(
        default=None,
        description=(
            "YAML or JSON routing table (aliases -> backends), watched and hot-reloaded. "
            "Unset: a built-in table for the local engine (generate_url, embed_url)."
        ),
    )
    routing_poll_interval_s: float = Field(
        default=1.0, description="How often the routing table file is checked for changes."
    )
    generate_url: str = Field(
        default="http://127.0.0.1:18000/v1", description="Built-in table: generation backend."
    )
    generate_model: str = "gemma-3-270m"
    embed_url: str = Field(
        default="http://127.0.0.1:18001/v1", description="Built-in table: embeddings backend."
    )
    embed_model: str = "all-minilm-l6-v2"
    backend_down_cooldown_s: float = Field(
        default=5.0,
        description="After a connection failure a backend is tried last for this long.",
    )

    # -- RAG -------------------------------------------------------------------------
    milvus_uri: str = Field(
        default="",
        description=(
            "Milvus Lite file (e.g. ./rag.db) or a Milvus server URI (http://milvus:19530). "
            "Empty disables RAG and ingestion; readiness then ignores Milvus."
        ),
    )
    milvus_token: str = ""
    default_embedder: str = Field(
        default="all-minilm-l6-v2", description="Embeddings alias used by ingestion by default."
    )
    ingest_batch_size: int = 32
    ingest_timeout_s: float = Field(
        default=120.0,
        description=(
            "One ingest request works at most this long, then answers 504 ingest_timeout "
            "with its progress. What it wrote stays: the same request sent again resumes "
            "(finished documents are unchanged, written chunks are not embedded again). "
            "`llmops ingest` re-sends by itself."
        ),
    )
    rag_max_context_chars: int = Field(
        default=6000, description="Retrieved text put into one prompt, at most (characters)."
    )

    # -- governance --------------------------------------------------------------------
    keys_file: Path | None = Field(
        default=None,
        description=(
            "YAML or JSON list of API keys (sha256 hashes, team, models, limits). "
            "Unset: no authentication (local development only)."
        ),
    )
    limits_redis_url: str = Field(
        default="",
        description=(
            "Redis URL (redis://host:6379/0) holding each API key's rpm, tpm and token-budget "
            "state, shared by every gateway replica. Empty: each replica keeps its own, so "
            "a key's limits hold per replica (N replicas admit up to N times a limit)."
        ),
    )
    feedback_file: Path | None = Field(
        default=None, description="JSON-lines file that /v1/feedback appends to (optional)."
    )

    # -- guardrails --------------------------------------------------------------------
    guard_injection: GuardPolicy = "block"
    # Retrieved chunks that look like instructions are dropped ("redact") by default:
    # a poisoned document must not be able to block every query that retrieves it.
    guard_injection_retrieved: GuardPolicy = "redact"
    guard_pii_input: GuardPolicy = "redact"
    guard_pii_output: GuardPolicy = "redact"
    max_prompt_chars: int = 32_000
    max_output_tokens: int = 2048
    max_body_bytes: int = 1_048_576
    max_ingest_body_bytes: int = 32 * 1_048_576
    max_concurrent_requests: int = Field(
        default=512,
        description=(
            "POST requests served at once by this process; one more is answered 429 "
            "too_many_concurrent_requests with Retry-After at once (no unbounded queue: "
            "memory stays bounded under a flood against a slow backend)."
        ),
    )

    # -- timeouts (seconds) per phase ----------------------------------------------------
    connect_timeout_s: float = 2.0
    first_token_timeout_s: float = Field(
        default=120.0,
        description=(
            "Wait for a backend's first token (streamed) or first byte before answering 504 "
            "first_token_timeout. Generous on purpose: a CPU engine with a long RAG prompt "
            "and a queue of requests takes tens of seconds to its first token. The chart's "
            "inference.timeoutSeconds has the same default (a unit test keeps them equal)."
        ),
    )
    total_timeout_s: float = 300.0
    embed_timeout_s: float = 30.0
    ready_timeout_s: float = 2.0
    shutdown_grace_s: float = Field(
        default=20.0,
        description=(
            "On SIGTERM, requests in flight get this long to finish (new connections are "
            "refused at once), then they are cancelled and the process exits. Below the "
            "pod's terminationGracePeriodSeconds (the chart sets it to this plus 10 s)."
        ),
    )

    # -- telemetry ---------------------------------------------------------------------
    otlp_endpoint: str = Field(
        default="", description="OTLP/HTTP traces endpoint (http://collector:4318/v1/traces)."
    )
    service_name: str = "llmops-gateway"
    log_level: str = "info"
