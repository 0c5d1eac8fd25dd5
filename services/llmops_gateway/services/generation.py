"""Chat, completion and embedding requests: input checks, the plan, then the backends."""

from __future__ import annotations

from llmops_contracts.routing import Backend
from llmops_gateway.domain.results import Answer, Stream
from llmops_gateway.domain.schemas import ChatRequest, CompletionRequest, EmbeddingRequest
from llmops_gateway.domain.upstream import (
    Prepared,
    build_chat_call,
    build_completion_call,
    build_embeddings_call,
)
from llmops_gateway.services.context import Call
from llmops_gateway.services.dispatch import Dispatcher, Prepare
from llmops_gateway.services.guards import Guards
from llmops_gateway.services.plan import Planner
from llmops_gateway.services.rag import Retrieval


class Generation:
    def __init__(
        self, planner: Planner, dispatcher: Dispatcher, guards: Guards, retrieval: Retrieval
    ) -> None:
        self._planner = planner
        self._dispatcher = dispatcher
        self._guards = guards
        self._retrieval = retrieval

    async def chat(self, call: Call, request: ChatRequest) -> Answer | Stream:
        route = self._planner.route(call.alias, "generate")
        body = request.upstream_body()
        self._guards.check_output_limit(body)
        messages = self._guards.guard_messages(call, body["messages"])
        plan = self._planner.plan(call, route, body)
        prepare: Prepare
        if any(backend.rag is not None for backend in plan.backends):
            prepare = self._retrieval.prepare_chat(call, body, messages, request.rag_filter)
        else:

            async def prepare(backend: Backend) -> Prepared:
                return build_chat_call(backend, body, messages)

        if request.stream:
            return await self._dispatcher.stream(call, plan, prepare)
        return await self._dispatcher.answer(call, plan, prepare)

    async def completion(self, call: Call, request: CompletionRequest) -> Answer | Stream:
        route = self._planner.route(call.alias, "generate")
        body = request.upstream_body()
        self._guards.check_output_limit(body)
        prompt = body["prompt"]
        if isinstance(prompt, str):
            self._guards.check_prompt_size(len(prompt), "prompt")
            body["prompt"] = self._guards.guard_text(call, prompt)
        elif prompt and all(isinstance(item, str) for item in prompt):
            self._guards.check_prompt_size(sum(len(item) for item in prompt), "prompt")
            body["prompt"] = [self._guards.guard_text(call, item) for item in prompt]
        plan = self._planner.plan(call, route, body)

        async def prepare(backend: Backend) -> Prepared:
            return build_completion_call(backend, body)

        if request.stream:
            return await self._dispatcher.stream(call, plan, prepare)
        return await self._dispatcher.answer(call, plan, prepare)

    async def embeddings(self, call: Call, request: EmbeddingRequest) -> Answer:
        route = self._planner.route(call.alias, "embeddings")
        body = request.model_dump(exclude_unset=True)
        texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
        if texts and isinstance(texts[0], str):
            self._guards.check_prompt_size(sum(len(text) for text in texts), "input")
        plan = self._planner.plan(call, route, body)

        async def prepare(backend: Backend) -> Prepared:
            return build_embeddings_call(backend, body)

        return await self._dispatcher.answer(call, plan, prepare)
