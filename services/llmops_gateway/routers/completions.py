"""``POST /v1/completions``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from llmops_gateway.domain.schemas import CompletionRequest
from llmops_gateway.routers.deps import CallerDep, ServicesDep
from llmops_gateway.routers.render import answer_response

router = APIRouter(tags=["openai"])


@router.post("/v1/completions")
async def completions(
    body: CompletionRequest, request: Request, services: ServicesDep, caller: CallerDep
) -> Response:
    call = await services.accounting.open_call("completions", body.model, caller, request.headers)
    async with services.accounting.in_flight(call):
        return answer_response(await services.generation.completion(call, body))
