"""``POST /v1/rag/query``: an answer with citations from a RAG alias."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from llmops_gateway.domain.schemas import RagQueryRequest
from llmops_gateway.routers.deps import CallerDep, ServicesDep
from llmops_gateway.routers.render import rag_json

router = APIRouter(tags=["rag"])


@router.post("/v1/rag/query")
async def rag_query(
    body: RagQueryRequest, request: Request, services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    call = await services.accounting.open_call("rag", body.model, caller, request.headers)
    async with services.accounting.in_flight(call):
        return rag_json(await services.retrieval.answer_query(call, body))
