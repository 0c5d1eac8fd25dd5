"""``POST /v1/ingest``: documents into a RAG collection, with a per-document report."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from llmops_gateway.deps import CallerDep, RuntimeDep, counting_errors, open_call
from llmops_gateway.ingest import ingest
from llmops_gateway.schemas import IngestRequest

router = APIRouter(tags=["rag"])


@router.post("/v1/ingest")
async def ingest_documents(
    body: IngestRequest, request: Request, runtime: RuntimeDep, caller: CallerDep
) -> dict[str, Any]:
    embedder = body.embedder or runtime.settings.default_embedder
    # Ingestion spends the embedder's tokens: the key must be allowed to use it.
    call = open_call(runtime, request, caller, "ingest", embedder)
    async with counting_errors(call):
        report = await ingest(call, body)
    # counted like every other route, so load tests and dashboards see ingestion traffic
    metrics = runtime.metrics
    metrics.requests.labels(*call.labels(), "200").inc()
    metrics.latency.labels(*call.labels()).observe(time.perf_counter() - call.started)
    return report
