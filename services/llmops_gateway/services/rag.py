"""Retrieval-augmented answers: embed the question, search the collection, screen the
passages, build the prompt from the revision's template, generate.

Retrieval settings belong to the backend (the revision) that serves the request, so a
canary can change collection, top-k, template and embedder together with the model. When
a request falls back to another backend with other settings, retrieval runs again for it.
Answers carry citations: ``{"index", "document", "chunk", "score", "text"}``, numbered as
the passages appear in the prompt, and stop where the model would start writing a passage
of its own (the template's stop sequence, after the client's ``stop``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from llmops_contracts.routing import Backend, RagSettings
from llmops_gateway.clients.vectorstore import Hit, VectorStore
from llmops_gateway.domain.errors import (
    GuardrailBlockedError,
    InvalidRequestError,
    NotFoundError,
    UnavailableError,
    UpstreamError,
)
from llmops_gateway.domain.prompts import (
    Passage,
    UnknownTemplateError,
    build_rag_messages,
    get_template,
    last_user_text,
)
from llmops_gateway.domain.results import Citation, RagAnswer
from llmops_gateway.domain.schemas import RagQueryRequest
from llmops_gateway.domain.upstream import Prepared, build_chat_call, build_embeddings_call
from llmops_gateway.services.accounting import Accounting
from llmops_gateway.services.context import Call
from llmops_gateway.services.dispatch import Dispatcher, Prepare
from llmops_gateway.services.guards import Guards
from llmops_gateway.services.plan import Planner

_SNIPPET_CHARS = 300


def citations_of(passages: list[Passage]) -> list[dict[str, Any]]:
    return [
        dataclasses.asdict(
            Citation(
                index=n,
                document=p.document,
                chunk=p.chunk,
                score=round(p.score, 4),
                text=p.text[:_SNIPPET_CHARS],
            )
        )
        for n, p in enumerate(passages, start=1)
    ]


class Retrieval:
    def __init__(
        self,
        *,
        planner: Planner,
        dispatcher: Dispatcher,
        accounting: Accounting,
        guards: Guards,
        vectors: VectorStore | None,
        max_context_chars: int,
    ) -> None:
        self._planner = planner
        self._dispatcher = dispatcher
        self._accounting = accounting
        self._guards = guards
        self._vectors = vectors
        self._max_context_chars = max_context_chars

    def store(self) -> VectorStore:
        if self._vectors is None:
            raise UnavailableError(
                "RAG is not enabled on this gateway (no Milvus URI is set).", code="rag_disabled"
            )
        return self._vectors

    async def embed_texts(self, call: Call, alias: str, texts: list[str]) -> list[list[float]]:
        """Embeddings through an embeddings alias of the routing table (with its fallbacks).

        Runs as a sub-call: metrics and tokens are counted under ``route="embeddings"`` and
        the embedder's alias, for the same caller; a revision pin for the generating alias
        does not apply to the embedder.
        """
        sub = Call(
            route="embeddings",
            alias=alias,
            caller=call.caller,
            headers={},
            trace_context=call.trace_context,
            request_id=call.request_id,
        )
        route = self._planner.table.routes.get(alias)
        if route is None or route.kind != "embeddings":
            raise UpstreamError(
                f"The embedder `{alias}` is not an embeddings alias of the table.",
                code="embedder_not_configured",
            )
        body = {"input": texts}

        async def prepare(backend: Backend) -> Prepared:
            return build_embeddings_call(backend, body)

        answer = await self._dispatcher.answer(sub, self._planner.plan(sub, route, body), prepare)
        rows = sorted(answer.body.get("data", []), key=lambda row: int(row.get("index", 0)))
        vectors = [[float(value) for value in row["embedding"]] for row in rows]
        if len(vectors) != len(texts):
            raise UpstreamError(
                f"The embedder `{alias}` returned {len(vectors)} vectors for {len(texts)} inputs."
            )
        return vectors

    async def retrieve(
        self,
        call: Call,
        rag: RagSettings,
        question: str,
        *,
        top_k: int | None,
        where: dict[str, Any] | None,
    ) -> list[Hit]:
        """The passages closest to the question (one ``retrieve`` span with ``embed`` inside)."""
        store = self.store()
        with self._accounting.retrieval(call, rag, top_k or rag.top_k) as (span, context):
            inner = dataclasses.replace(call, trace_context=context)
            if not await store.has_collection(rag.collection):
                raise NotFoundError(
                    f"The collection `{rag.collection}` does not exist; ingest "
                    "documents into it first.",
                    code="collection_not_found",
                )
            [vector] = await self.embed_texts(inner, rag.embedder, [question])
            hits = await store.search(rag.collection, vector, top_k or rag.top_k, where)
            if not hits and await store.count(rag.collection) == 0:
                raise NotFoundError(
                    f"The collection `{rag.collection}` is empty.", code="collection_empty"
                )
            span.set_attribute("llmops.hits", len(hits))
            self._accounting.retrieved(call, rag, [hit.score for hit in hits])
            return [hit for hit in hits if hit.score >= rag.min_score]

    def screen_passages(self, call: Call, hits: list[Hit]) -> list[Passage]:
        """Injection guardrail on retrieved text: an instruction hidden in a document is
        flagged, removed or blocks the request, per ``guard_injection_retrieved``."""
        passages = []
        for hit in hits:
            text, decision = self._guards.guard_passage(call, hit.text)
            if decision.blocks:
                raise GuardrailBlockedError(
                    f"A retrieved passage ({hit.document}, part {hit.chunk}) contains "
                    f"instructions ({', '.join(decision.rules)}); the request was refused.",
                )
            passages.append(
                Passage(document=hit.document, chunk=hit.chunk, text=text, score=hit.score)
            )
        return passages

    def prepare_chat(
        self,
        call: Call,
        body: dict[str, Any],
        messages: list[dict[str, Any]],
        where: dict[str, Any] | None,
        top_k: int | None = None,
    ) -> Prepare:
        """A `Prepare` that retrieves for each backend's RAG settings (once per settings)."""
        question = last_user_text(messages)
        if not question.strip():
            raise InvalidRequestError(
                "A RAG model needs a user message to answer.", param="messages"
            )
        cache: dict[
            RagSettings, tuple[list[dict[str, Any]], list[dict[str, Any]], tuple[str, ...]]
        ] = {}

        async def prepare(backend: Backend) -> Prepared:
            if backend.rag is None:
                return build_chat_call(backend, body, messages)
            if backend.rag not in cache:
                try:
                    template = get_template(backend.rag.template)
                except UnknownTemplateError as err:
                    raise UpstreamError(
                        f"Backend {backend.name} names an unknown prompt "
                        f"template {backend.rag.template!r}."
                    ) from err
                call.revision = backend.revision
                hits = await self.retrieve(call, backend.rag, question, top_k=top_k, where=where)
                passages = self.screen_passages(call, hits)
                rag_messages = build_rag_messages(
                    template,
                    question,
                    passages,
                    max_context_chars=self._max_context_chars,
                    history=messages[:-1],
                )
                cache[backend.rag] = (rag_messages, citations_of(passages), template.stop)
            rag_messages, citations, stop = cache[backend.rag]
            prepared = build_chat_call(backend, body, rag_messages, stop=stop)
            return dataclasses.replace(prepared, citations=citations)

        return prepare

    async def answer_query(self, call: Call, request: RagQueryRequest) -> RagAnswer:
        """``POST /v1/rag/query``: the answer, its citations and what produced it."""
        route = self._planner.route(call.alias, "generate")
        if all(backend.rag is None for backend in route.backends):
            raise InvalidRequestError(
                f"The model `{call.alias}` has no retrieval settings.",
                code="not_a_rag_model",
                param="model",
            )
        body = request.model_dump(exclude_none=True, exclude={"query", "top_k", "filter"})
        self._guards.check_output_limit(body)
        messages = [{"role": "user", "content": self._guards.guard_text(call, request.query)}]
        body["messages"] = messages
        plan = self._planner.plan(call, route, body)
        prepare = self.prepare_chat(call, body, messages, request.filter, request.top_k)
        sent = await self._dispatcher.send(call, plan, prepare, stream=False)
        result = await self._dispatcher.finish_json(call, sent)
        choice = (result.get("choices") or [{}])[0]
        rag = sent.backend.rag
        return RagAnswer(
            id=result.get("id", ""),
            created=result.get("created", 0),
            model=call.alias,
            revision=sent.backend.revision,
            backend=sent.backend.name,
            collection=rag.collection if rag else None,
            template=rag.template if rag else None,
            answer=(choice.get("message") or {}).get("content", ""),
            finish_reason=choice.get("finish_reason"),
            citations=result.get("citations", []),
            usage=result.get("usage"),
            guardrails=call.guardrail_summaries(),
        )
