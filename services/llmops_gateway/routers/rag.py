"""``POST /v1/rag/query``: an answer with citations from a RAG alias."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from llmops_gateway.deps import CallerDep, RuntimeDep, counting_errors, open_call
from llmops_gateway.rag import answer_query
from llmops_gateway.schemas import RagQueryRequest

router = APIRouter(tags=["rag"])


@router.post("/v1/rag/query")
async def rag_query(
    body: RagQueryRequest, request: Request, runtime: RuntimeDep, caller: CallerDep
) -> dict[str, Any]:
    call = open_call(runtime, request, caller, "rag", body.model)
    async with counting_errors(call):
        return await answer_query(call, body)
