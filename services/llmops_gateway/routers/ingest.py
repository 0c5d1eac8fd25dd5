"""``POST /v1/ingest``: documents into a RAG collection, with a per-document report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from llmops_gateway.domain.schemas import IngestRequest
from llmops_gateway.routers.deps import CallerDep, ServicesDep
from llmops_gateway.routers.render import ingest_json

router = APIRouter(tags=["rag"])


@router.post("/v1/ingest")
async def ingest_documents(
    body: IngestRequest, request: Request, services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    # Ingestion spends the embedder's tokens: the key must be allowed to use it.
    embedder = services.ingestion.embedder_of(body)
    call = await services.accounting.open_call("ingest", embedder, caller, request.headers)
    async with services.accounting.in_flight(call):
        return ingest_json(await services.ingestion.ingest(call, body))
