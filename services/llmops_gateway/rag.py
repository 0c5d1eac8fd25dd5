"""Retrieval-augmented answers: embed the question, search the collection, screen the
passages, build the prompt from the revision's template, generate.

Retrieval settings belong to the backend (the revision) that serves the request, so a
canary can change collection, top-k, template and embedder together with the model. When
a request falls back to another backend with other settings, retrieval runs again for it.
Answers carry citations: ``{"index", "document", "chunk", "score", "text"}``, numbered as
the passages appear in the prompt.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from llmops_contracts.routing import Backend, RagSettings
from llmops_gateway.calls import Call, Prepare, Prepared, build_chat_call, make_plan, resolve_route
from llmops_gateway.clients.vectorstore import Hit, VectorStore
from llmops_gateway.dispatch import finish_json, send
from llmops_gateway.domain.errors import (
    GuardrailBlockedError,
    InvalidRequestError,
    NotFoundError,
    UnavailableError,
    UpstreamError,
)
from llmops_gateway.domain.guardrails import screen_injection
from llmops_gateway.domain.prompts import (
    Passage,
    UnknownTemplateError,
    build_rag_messages,
    get_template,
    last_user_text,
)
from llmops_gateway.inputs import check_output_limit, guard_text
from llmops_gateway.schemas import RagQueryRequest

_SNIPPET_CHARS = 300


def vector_store(call: Call) -> VectorStore:
    if call.runtime.vectors is None:
        raise UnavailableError(
            "RAG is not enabled on this gateway (no Milvus URI is set).", code="rag_disabled"
        )
    return call.runtime.vectors


async def embed_texts(call: Call, alias: str, texts: list[str]) -> list[list[float]]:
    """Embeddings through an embeddings alias of the routing table (with its fallbacks).

    Runs as a sub-call: metrics and tokens are counted under ``route="embeddings"`` and the
    embedder's alias, for the same caller; a revision pin for the generating alias does
    not apply to the embedder.
    """
    sub = Call(
        runtime=call.runtime,
        route="embeddings",
        alias=alias,
        caller=call.caller,
        headers={},
        trace_context=call.trace_context,
        request_id=call.request_id,
    )
    route = call.runtime.routing.table.routes.get(alias)
    if route is None or route.kind != "embeddings":
        raise UpstreamError(
            f"The embedder `{alias}` is not an embeddings alias of the table.",
            code="embedder_not_configured",
        )
    body = {"input": texts}

    async def prepare(backend: Backend) -> Prepared:
        return Prepared("/embeddings", {**body, "model": backend.model})

    sent = await send(sub, make_plan(sub, route, body), prepare, stream=False)
    result = await finish_json(sub, sent)
    rows = sorted(result.get("data", []), key=lambda row: int(row.get("index", 0)))
    vectors = [[float(value) for value in row["embedding"]] for row in rows]
    if len(vectors) != len(texts):
        raise UpstreamError(
            f"The embedder `{alias}` returned {len(vectors)} vectors for {len(texts)} inputs."
        )
    return vectors


async def retrieve(
    call: Call,
    rag: RagSettings,
    question: str,
    *,
    top_k: int | None,
    where: dict[str, Any] | None,
) -> list[Hit]:
    """The passages closest to the question (one ``retrieve`` span with ``embed`` inside)."""
    store = vector_store(call)
    runtime = call.runtime
    span = runtime.tracer.start_span(
        f"retrieve {rag.collection}", context=call.trace_context, kind=SpanKind.INTERNAL
    )
    span.set_attributes(
        {
            "gen_ai.operation.name": "retrieval",
            "gen_ai.data_source.id": rag.collection,
            "gen_ai.request.top_k": top_k or rag.top_k,
            "llmops.embedder": rag.embedder,
            "llmops.revision": call.revision,
        }
    )
    started = time.perf_counter()
    inner = dataclasses.replace(
        call, trace_context=trace.set_span_in_context(span, call.trace_context)
    )
    try:
        if not await store.has_collection(rag.collection):
            raise NotFoundError(
                f"The collection `{rag.collection}` does not exist; ingest "
                "documents into it first.",
                code="collection_not_found",
            )
        [vector] = await embed_texts(inner, rag.embedder, [question])
        hits = await store.search(rag.collection, vector, top_k or rag.top_k, where)
        if not hits and await store.count(rag.collection) == 0:
            raise NotFoundError(
                f"The collection `{rag.collection}` is empty.", code="collection_empty"
            )
        span.set_attribute("llmops.hits", len(hits))
        return [hit for hit in hits if hit.score >= rag.min_score]
    except BaseException as err:
        span.record_exception(err)
        span.set_status(trace.StatusCode.ERROR, type(err).__name__)
        raise
    finally:
        span.end()
        runtime.metrics.retrieval.labels(*call.labels(), rag.collection).observe(
            time.perf_counter() - started
        )


def screen_passages(call: Call, hits: list[Hit]) -> list[Passage]:
    """Injection guardrail on retrieved text: an instruction hidden in a document is
    flagged, removed or blocks the request, per ``guard_injection_retrieved``."""
    policy = call.runtime.settings.guard_injection_retrieved
    passages = []
    for hit in hits:
        text, decision = screen_injection(hit.text, policy, "injection_retrieved")
        call.runtime.record_decision(call.route, call.alias, decision)
        if decision.blocks:
            raise GuardrailBlockedError(
                f"A retrieved passage ({hit.document}, part {hit.chunk}) contains "
                f"instructions ({', '.join(decision.rules)}); the request was refused.",
            )
        passages.append(Passage(document=hit.document, chunk=hit.chunk, text=text, score=hit.score))
    return passages


def citations_of(passages: list[Passage]) -> list[dict[str, Any]]:
    return [
        {
            "index": n,
            "document": p.document,
            "chunk": p.chunk,
            "score": round(p.score, 4),
            "text": p.text[:_SNIPPET_CHARS],
        }
        for n, p in enumerate(passages, start=1)
    ]


def prepare_rag_chat(
    call: Call,
    body: dict[str, Any],
    messages: list[dict[str, Any]],
    where: dict[str, Any] | None,
    top_k: int | None = None,
) -> Prepare:
    """A `Prepare` that retrieves for each backend's RAG settings (once per settings)."""
    question = last_user_text(messages)
    if not question.strip():
        raise InvalidRequestError("A RAG model needs a user message to answer.", param="messages")
    cache: dict[RagSettings, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}

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
            hits = await retrieve(call, backend.rag, question, top_k=top_k, where=where)
            passages = screen_passages(call, hits)
            rag_messages = build_rag_messages(
                template,
                question,
                passages,
                max_context_chars=call.runtime.settings.rag_max_context_chars,
                history=messages[:-1],
            )
            cache[backend.rag] = (rag_messages, citations_of(passages))
        rag_messages, citations = cache[backend.rag]
        prepared = build_chat_call(backend, body, rag_messages)
        return dataclasses.replace(prepared, citations=citations)

    return prepare


async def answer_query(call: Call, request: RagQueryRequest) -> dict[str, Any]:
    """``POST /v1/rag/query``: the answer, its citations and what produced it."""
    route = resolve_route(call.runtime, call.alias, "generate")
    if all(backend.rag is None for backend in route.backends):
        raise InvalidRequestError(
            f"The model `{call.alias}` has no retrieval settings.",
            code="not_a_rag_model",
            param="model",
        )
    body = request.model_dump(exclude_none=True, exclude={"query", "top_k", "filter"})
    check_output_limit(call, body)
    messages = [{"role": "user", "content": guard_text(call, request.query)}]
    body["messages"] = messages
    plan = make_plan(call, route, body)
    prepare = prepare_rag_chat(call, body, messages, request.filter, request.top_k)
    sent = await send(call, plan, prepare, stream=False)
    result = await finish_json(call, sent)
    choice = (result.get("choices") or [{}])[0]
    rag = sent.backend.rag
    return {
        "id": result.get("id", ""),
        "object": "rag.answer",
        "created": result.get("created", 0),
        "model": call.alias,
        "revision": sent.backend.revision,
        "backend": sent.backend.name,
        "collection": rag.collection if rag else None,
        "template": rag.template if rag else None,
        "answer": (choice.get("message") or {}).get("content", ""),
        "finish_reason": choice.get("finish_reason"),
        "citations": result.get("citations", []),
        "usage": result.get("usage"),
    }
