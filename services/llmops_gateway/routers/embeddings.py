"""``POST /v1/embeddings``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from llmops_gateway.domain.schemas import EmbeddingRequest
from llmops_gateway.routers.deps import CallerDep, ServicesDep
from llmops_gateway.routers.render import answer_response

router = APIRouter(tags=["openai"])


@router.post("/v1/embeddings")
async def embeddings(
    body: EmbeddingRequest, request: Request, services: ServicesDep, caller: CallerDep
) -> Response:
    call = await services.accounting.open_call("embeddings", body.model, caller, request.headers)
    async with services.accounting.in_flight(call):
        return answer_response(await services.generation.embeddings(call, body))
