"""``POST /v1/chat/completions`` (RAG aliases answer with citations)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from llmops_gateway.deps import CallerDep, RuntimeDep, counting_errors, open_call
from llmops_gateway.generation import serve_chat
from llmops_gateway.schemas import ChatRequest

router = APIRouter(tags=["openai"])


@router.post("/v1/chat/completions")
async def chat_completions(
    body: ChatRequest, request: Request, runtime: RuntimeDep, caller: CallerDep
) -> Response:
    call = open_call(runtime, request, caller, "chat", body.model)
    async with counting_errors(call):
        return await serve_chat(call, body)
