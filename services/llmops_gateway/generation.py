"""Chat, completion and embedding requests: input checks, then dispatch to the backends."""

from __future__ import annotations

from fastapi.responses import Response

from llmops_contracts.routing import Backend
from llmops_gateway.calls import (
    Call,
    Prepared,
    build_chat_call,
    make_plan,
    resolve_route,
    wants_stream_usage,
    with_stream_usage,
)
from llmops_gateway.dispatch import dispatch
from llmops_gateway.inputs import (
    check_output_limit,
    check_prompt_size,
    guard_messages,
    guard_text,
)
from llmops_gateway.rag import prepare_rag_chat
from llmops_gateway.schemas import ChatRequest, CompletionRequest, EmbeddingRequest


async def serve_chat(call: Call, request: ChatRequest) -> Response:
    route = resolve_route(call.runtime, call.alias, "generate")
    body = request.upstream_body()
    check_output_limit(call, body)
    messages = guard_messages(call, body["messages"])
    plan = make_plan(call, route, body)
    if any(backend.rag is not None for backend in plan.backends):
        prepare = prepare_rag_chat(call, body, messages, request.rag_filter)
    else:

        async def prepare(backend: Backend) -> Prepared:
            return build_chat_call(backend, body, messages)

    return await dispatch(call, plan, prepare, stream=request.stream)


async def serve_completion(call: Call, request: CompletionRequest) -> Response:
    route = resolve_route(call.runtime, call.alias, "generate")
    body = request.upstream_body()
    check_output_limit(call, body)
    prompt = body["prompt"]
    if isinstance(prompt, str):
        check_prompt_size(call, len(prompt), "prompt")
        body["prompt"] = guard_text(call, prompt)
    elif prompt and all(isinstance(item, str) for item in prompt):
        check_prompt_size(call, sum(len(item) for item in prompt), "prompt")
        body["prompt"] = [guard_text(call, item) for item in prompt]
    strip = bool(body.get("stream")) and not wants_stream_usage(body)
    plan = make_plan(call, route, body)

    async def prepare(backend: Backend) -> Prepared:
        return Prepared(
            "/completions", with_stream_usage({**body, "model": backend.model}), strip_usage=strip
        )

    return await dispatch(call, plan, prepare, stream=request.stream)


async def serve_embeddings(call: Call, request: EmbeddingRequest) -> Response:
    route = resolve_route(call.runtime, call.alias, "embeddings")
    body = request.model_dump(exclude_unset=True)
    texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
    if texts and isinstance(texts[0], str):
        check_prompt_size(call, sum(len(text) for text in texts), "input")
    plan = make_plan(call, route, body)

    async def prepare(backend: Backend) -> Prepared:
        return Prepared("/embeddings", {**body, "model": backend.model})

    return await dispatch(call, plan, prepare, stream=False)
