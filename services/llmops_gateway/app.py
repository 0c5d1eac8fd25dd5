"""The app factory: `create_app(settings)` builds the FastAPI app; its lifespan opens the
HTTP client, the routing table (and its watcher), the keys, the tracer and Milvus onto
``app.state.runtime``, and closes them on shutdown.

Run it with ``llmops gateway serve`` or ``python -m llmops_gateway``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter

from llmops_gateway.clients.routing_file import RoutingSource
from llmops_gateway.clients.upstream import HttpClients, PhaseTimeouts
from llmops_gateway.clients.vectorstore import VectorStore
from llmops_gateway.domain.routing import BackendHealth, build_default_table
from llmops_gateway.errors import install_error_handlers
from llmops_gateway.governance import Governance
from llmops_gateway.metrics import GatewayMetrics
from llmops_gateway.middleware import BodyLimitMiddleware
from llmops_gateway.routers import (
    chat,
    completions,
    embeddings,
    feedback,
    health,
    ingest,
    models,
    rag,
    usage,
)
from llmops_gateway.runtime import Runtime
from llmops_gateway.settings import GatewaySettings
from llmops_gateway.telemetry import build_tracer_provider, get_tracer

log = logging.getLogger("llmops_gateway")


def load_routing(settings: GatewaySettings, metrics: GatewayMetrics) -> RoutingSource:
    """The routing table file, or the built-in table for the local engine."""

    def count(result: str) -> None:
        metrics.routing_reloads.labels(result).inc()

    if settings.routing_table is not None:
        return RoutingSource.from_file(settings.routing_table, on_reload=count)
    table = build_default_table(
        settings.generate_url, settings.generate_model, settings.embed_url, settings.embed_model
    )
    return RoutingSource(table)


def create_app(
    settings: GatewaySettings | None = None, *, span_exporter: SpanExporter | None = None
) -> FastAPI:
    """The gateway app. ``span_exporter`` receives every span too (for tests)."""
    settings = settings or GatewaySettings()
    metrics = GatewayMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        routing = load_routing(settings, metrics)
        governance = Governance.from_file(settings.keys_file, metrics)
        provider = build_tracer_provider(
            settings.service_name, settings.otlp_endpoint, span_exporter
        )
        http = HttpClients(
            PhaseTimeouts(
                connect=settings.connect_timeout_s,
                first_token=settings.first_token_timeout_s,
                total=settings.total_timeout_s,
            ),
            keep_alive_s=settings.upstream_keep_alive_s,
        )
        vectors = (
            VectorStore(settings.milvus_uri, settings.milvus_token) if settings.milvus_uri else None
        )
        if vectors is not None:
            await vectors.open()
        app.state.runtime = Runtime(
            settings=settings,
            metrics=metrics,
            tracer=get_tracer(provider),
            http=http,
            routing=routing,
            health=BackendHealth.create(settings.backend_down_cooldown_s),
            governance=governance,
            vectors=vectors,
        )
        try:
            async with anyio.create_task_group() as group:
                if settings.routing_table is not None:
                    group.start_soon(routing.watch, settings.routing_poll_interval_s)
                yield
                group.cancel_scope.cancel()
        finally:
            await http.aclose()
            if vectors is not None:
                await vectors.close()
            provider.shutdown()

    app = FastAPI(
        title="llmops gateway",
        summary="OpenAI-compatible RAG gateway: routing between revisions, governance, "
        "guardrails, telemetry.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.metrics = metrics
    install_error_handlers(app)
    for module in (chat, completions, embeddings, models, rag, ingest, feedback, usage, health):
        app.include_router(module.router)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        path_limits={"/v1/ingest": settings.max_ingest_body_bytes},
    )
    return app
