"""``POST /v1/completions``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from llmops_gateway.deps import CallerDep, RuntimeDep, counting_errors, open_call
from llmops_gateway.generation import serve_completion
from llmops_gateway.schemas import CompletionRequest

router = APIRouter(tags=["openai"])


@router.post("/v1/completions")
async def completions(
    body: CompletionRequest, request: Request, runtime: RuntimeDep, caller: CallerDep
) -> Response:
    call = open_call(runtime, request, caller, "completions", body.model)
    async with counting_errors(call):
        return await serve_completion(call, body)
