"""``POST /v1/embeddings``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from llmops_gateway.deps import CallerDep, RuntimeDep, counting_errors, open_call
from llmops_gateway.generation import serve_embeddings
from llmops_gateway.schemas import EmbeddingRequest

router = APIRouter(tags=["openai"])


@router.post("/v1/embeddings")
async def embeddings(
    body: EmbeddingRequest, request: Request, runtime: RuntimeDep, caller: CallerDep
) -> Response:
    call = open_call(runtime, request, caller, "embeddings", body.model)
    async with counting_errors(call):
        return await serve_embeddings(call, body)
