"""The app factory: `create_app(settings)` builds the FastAPI app; its lifespan opens the
HTTP clients, the routing table (and its watcher), the keys, the tracer and Milvus, builds
the services from them (`build_services`) onto ``app.state.services``, and closes them on
shutdown.

Settings reach the code by this one route: the factory reads `GatewaySettings` and passes
each service the values it needs through its constructor; no service reads settings.

Run it with ``llmops gateway serve`` or ``python -m llmops_gateway``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import Tracer

from llmops_gateway.clients.feedback_log import FeedbackLog
from llmops_gateway.clients.metrics import GatewayMetrics
from llmops_gateway.clients.routing_file import RoutingSource
from llmops_gateway.clients.shared_limits import SharedUsage
from llmops_gateway.clients.telemetry import build_tracer_provider, get_tracer
from llmops_gateway.clients.upstream import HttpClients, PhaseTimeouts
from llmops_gateway.clients.vectorstore import VectorStore
from llmops_gateway.domain.routing import BackendHealth, build_default_table
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
from llmops_gateway.routers.errors import install_error_handlers
from llmops_gateway.routers.middleware import BodyLimitMiddleware, ConcurrencyLimitMiddleware
from llmops_gateway.services.accounting import Accounting, ResponseLog
from llmops_gateway.services.bundle import Services
from llmops_gateway.services.catalog import Catalog
from llmops_gateway.services.dispatch import Dispatcher
from llmops_gateway.services.feedback import Feedback
from llmops_gateway.services.generation import Generation
from llmops_gateway.services.governance import Governance
from llmops_gateway.services.guards import GuardPolicies, Guards
from llmops_gateway.services.ingest import Ingestion
from llmops_gateway.services.plan import Planner
from llmops_gateway.services.rag import Retrieval
from llmops_gateway.services.readiness import ReadinessCheck
from llmops_gateway.settings import GatewaySettings

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


def phase_timeouts(settings: GatewaySettings) -> PhaseTimeouts:
    return PhaseTimeouts(
        connect=settings.connect_timeout_s,
        first_token=settings.first_token_timeout_s,
        total=settings.total_timeout_s,
    )


def guard_policies(settings: GatewaySettings) -> GuardPolicies:
    return GuardPolicies(
        injection=settings.guard_injection,
        injection_retrieved=settings.guard_injection_retrieved,
        pii_input=settings.guard_pii_input,
        pii_output=settings.guard_pii_output,
        max_prompt_chars=settings.max_prompt_chars,
        max_output_tokens=settings.max_output_tokens,
    )


def build_services(
    settings: GatewaySettings,
    *,
    metrics: GatewayMetrics,
    tracer: Tracer,
    http: HttpClients,
    routing: RoutingSource,
    governance: Governance,
    vectors: VectorStore | None,
) -> Services:
    """Every service, each given what it needs (the composition root)."""
    responses = ResponseLog()
    accounting = Accounting(metrics, tracer, governance, responses)
    health = BackendHealth.create(settings.backend_down_cooldown_s)
    planner = Planner(routing, health)
    guards = Guards(guard_policies(settings), accounting)
    dispatcher = Dispatcher(
        http=http,
        health=health,
        accounting=accounting,
        guards=guards,
        timeouts=phase_timeouts(settings),
        down_cooldown_s=settings.backend_down_cooldown_s,
    )
    retrieval = Retrieval(
        planner=planner,
        dispatcher=dispatcher,
        accounting=accounting,
        guards=guards,
        vectors=vectors,
        max_context_chars=settings.rag_max_context_chars,
    )
    return Services(
        metrics=metrics,
        accounting=accounting,
        governance=governance,
        generation=Generation(planner, dispatcher, guards, retrieval),
        retrieval=retrieval,
        ingestion=Ingestion(
            retrieval,
            accounting,
            settings.default_embedder,
            settings.ingest_batch_size,
            settings.ingest_timeout_s,
        ),
        catalog=Catalog(planner),
        feedback=Feedback(responses, FeedbackLog(settings.feedback_file), accounting),
        readiness=ReadinessCheck(routing, http, vectors, settings.ready_timeout_s),
    )


def create_app(
    settings: GatewaySettings | None = None, *, span_exporter: SpanExporter | None = None
) -> FastAPI:
    """The gateway app. ``span_exporter`` receives every span too (for tests)."""
    settings = settings or GatewaySettings()
    metrics = GatewayMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        routing = load_routing(settings, metrics)
        shared = SharedUsage(settings.limits_redis_url) if settings.limits_redis_url else None
        governance = Governance.from_file(settings.keys_file, shared)
        provider = build_tracer_provider(
            settings.service_name, settings.otlp_endpoint, span_exporter
        )
        http = HttpClients(phase_timeouts(settings), keep_alive_s=settings.upstream_keep_alive_s)
        vectors = (
            VectorStore(settings.milvus_uri, settings.milvus_token) if settings.milvus_uri else None
        )
        if vectors is not None:
            await vectors.open()
        app.state.services = build_services(
            settings,
            metrics=metrics,
            tracer=get_tracer(provider),
            http=http,
            routing=routing,
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
            if shared is not None:
                await governance.drain()
                await shared.aclose()
            provider.shutdown()

    app = FastAPI(
        title="llmops gateway",
        summary="OpenAI-compatible RAG gateway: routing between revisions, governance, "
        "guardrails, telemetry.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    install_error_handlers(app, metrics)
    for module in (chat, completions, embeddings, models, rag, ingest, feedback, usage, health):
        app.include_router(module.router)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        path_limits={"/v1/ingest": settings.max_ingest_body_bytes},
    )
    # Outermost (added last): a refused request costs no body read.
    app.add_middleware(
        ConcurrencyLimitMiddleware, limit=settings.max_concurrent_requests, metrics=metrics
    )
    return app


def serve(settings: GatewaySettings) -> None:
    """The one way the gateway is served (``python -m llmops_gateway``, `llmops gateway
    serve`): one worker per process, since limits and usage counters live in its memory."""
    import uvicorn  # noqa: PLC0415  (the server only where one is started)

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        timeout_keep_alive=int(settings.keep_alive_timeout_s),
        # SIGTERM: refuse new connections, let requests in flight finish within the grace,
        # then cancel them (a client that left has had its work cancelled already).
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
        workers=1,
    )
