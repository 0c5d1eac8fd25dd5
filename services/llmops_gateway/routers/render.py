"""Domain results (`domain.results`) as HTTP: JSON bodies, SSE streams and the headers that
say which backend answered (``x-llmops-revision``, ``x-llmops-backend``, ``x-request-id``)
and which guardrails acted on the request (``x-llmops-guardrail``, when any did)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from llmops_gateway.domain.results import (
    Answer,
    DocumentReport,
    FeedbackRecord,
    IngestReport,
    ModelCard,
    RagAnswer,
    Readiness,
    Relayed,
    Reshaped,
    Served,
    Stream,
    StreamEvent,
    TeamUsageReport,
)
from llmops_gateway.domain.routing import REVISION_HEADER
from llmops_gateway.domain.sse import encode_event

BACKEND_HEADER = "x-llmops-backend"
GUARDRAIL_HEADER = "x-llmops-guardrail"


def served_headers(served: Served) -> dict[str, str]:
    headers = {
        REVISION_HEADER: served.revision,
        BACKEND_HEADER: served.backend,
        "x-request-id": served.request_id,
    }
    if served.guardrails:
        # A flagged (not blocked) request is told so, not only counted in metrics.
        headers[GUARDRAIL_HEADER] = ", ".join(served.guardrails)
    return headers


class CancellableStreamingResponse(StreamingResponse):
    """A streaming response whose body iterator is always closed, even when the client
    went away while the iterator was suspended (Starlette only cancels the sending task)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            closer = getattr(self.body_iterator, "aclose", None)
            if closer is not None:
                with anyio.CancelScope(shield=True):
                    await closer()


def encode_stream_event(event: StreamEvent) -> bytes:
    if isinstance(event, Relayed):
        return event.raw
    if isinstance(event, Reshaped):
        return encode_event(event.payload)
    # An error after the 200 was sent: OpenAI clients raise on an ``error`` event.
    return encode_event(
        {
            "error": {
                "message": event.message,
                "type": "api_error",
                "param": None,
                "code": event.code,
            }
        }
    )


async def sse_bytes(events: AsyncIterator[StreamEvent]) -> AsyncIterator[bytes]:
    try:
        async for event in events:
            yield event.raw if type(event) is Relayed else encode_stream_event(event)
    finally:
        closer = getattr(events, "aclose", None)
        if closer is not None:
            with anyio.CancelScope(shield=True):
                await closer()


def answer_response(result: Answer | Stream) -> Response:
    """A chat, completion or embeddings answer: JSON, or an SSE stream."""
    if isinstance(result, Stream):
        headers = {**served_headers(result.served), "cache-control": "no-cache"}
        return CancellableStreamingResponse(
            sse_bytes(result.events), media_type="text/event-stream", headers=headers
        )
    return JSONResponse(result.body, headers=served_headers(result.served))


def model_json(card: ModelCard) -> dict[str, Any]:
    return {
        "id": card.id,
        "object": "model",
        "created": 0,
        "owned_by": "llmops",
        "llmops": {"kind": card.kind, "revisions": card.revisions, "rag": card.rag},
    }


def _document_json(report: DocumentReport) -> dict[str, Any]:
    if report.error is not None:
        return {"document": report.document, "status": report.status, "error": report.error}
    return {
        "document": report.document,
        "status": report.status,
        "chunks": report.chunks,
        "upserted": report.upserted,
        "removed": report.removed,
    }


def ingest_json(report: IngestReport) -> dict[str, Any]:
    return {
        "object": "ingest.report",
        "collection": report.collection,
        "embedder": report.embedder,
        "documents": [_document_json(document) for document in report.documents],
        "collection_chunks": report.collection_chunks,
    }


def usage_json(teams: list[TeamUsageReport]) -> dict[str, Any]:
    data = []
    for team in teams:
        entry: dict[str, Any] = {
            "team": team.team,
            "requests": team.requests,
            "prompt_tokens": team.prompt_tokens,
            "completion_tokens": team.completion_tokens,
            "total_tokens": team.prompt_tokens + team.completion_tokens,
        }
        if team.key is not None:
            entry["key"] = team.key
        data.append(entry)
    return {"object": "list", "data": data}


def readiness_response(result: Readiness) -> JSONResponse:
    body: dict[str, Any] = {
        "routing_table": {"version": result.table_version, "sha256": result.table_sha256},
        "backends": result.backends,
        "aliases": result.aliases,
    }
    if result.milvus is not None:
        body["milvus"] = result.milvus
    body["status"] = result.status
    return JSONResponse(body, status_code=200 if result.ready else 503)


def rag_json(answer: RagAnswer) -> dict[str, Any]:
    return {
        "id": answer.id,
        "object": answer.object,
        "created": answer.created,
        "model": answer.model,
        "revision": answer.revision,
        "backend": answer.backend,
        "collection": answer.collection,
        "template": answer.template,
        "answer": answer.answer,
        "finish_reason": answer.finish_reason,
        "citations": answer.citations,
        "usage": answer.usage,
        "guardrails": list(answer.guardrails),
    }


def feedback_json(record: FeedbackRecord) -> dict[str, Any]:
    return {"object": "feedback", **dataclasses.asdict(record)}
