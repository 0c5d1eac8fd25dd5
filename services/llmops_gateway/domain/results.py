"""What the gateway's services return (pure data): the routers render these as HTTP.

A service never builds a FastAPI response: it returns one of these, or raises a
`domain.errors.GatewayError`, and the routers turn them into JSON, SSE and headers.

Streams are async iterators of `StreamEvent`: `Relayed` carries a backend's SSE bytes that
are forwarded unchanged (the fast path: nothing is decoded twice or re-encoded),
`Reshaped` an event the gateway rewrote (a JSON object, or raw data such as ``[DONE]``), and
`StreamFailed` an error after the 200 was sent (rendered as an OpenAI ``error`` event).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Served:
    """Which backend answered a request (rendered as the ``x-llmops-*`` headers)."""

    backend: str
    revision: str
    request_id: str
    # Guardrail decisions taken on the request (`Decision.summary`), e.g. a flagged injection.
    guardrails: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Answer:
    """A non-streamed OpenAI answer (chat, completion or embeddings), as sent to the client."""

    body: dict[str, Any]
    served: Served


@dataclass(frozen=True, slots=True)
class Relayed:
    """Backend bytes forwarded as they came (one or more whole or partial SSE events)."""

    raw: bytes


@dataclass(frozen=True, slots=True)
class Reshaped:
    """One SSE event the gateway rewrote: a JSON object, or data sent as is (``[DONE]``)."""

    payload: dict[str, Any] | str


@dataclass(frozen=True, slots=True)
class StreamFailed:
    """The backend failed after the stream had started (the client already has a 200)."""

    message: str
    code: str


StreamEvent = Relayed | Reshaped | StreamFailed


@dataclass(frozen=True, slots=True)
class Stream:
    """A streamed answer whose first chunk has arrived; ``events`` must be consumed or
    closed (``aclose``), which closes the upstream connection."""

    served: Served
    events: AsyncIterator[StreamEvent]


@dataclass(frozen=True, slots=True)
class Citation:
    """One passage of a RAG prompt, numbered as it appears there."""

    index: int
    document: str
    chunk: int
    score: float
    text: str


@dataclass(frozen=True, slots=True)
class RagAnswer:
    """``POST /v1/rag/query``: the answer, its citations and what produced it."""

    id: str
    created: int
    model: str
    revision: str
    backend: str
    collection: str | None
    template: str | None
    answer: str
    finish_reason: str | None
    citations: list[dict[str, Any]]
    usage: dict[str, Any] | None
    guardrails: tuple[str, ...] = ()  # `Decision.summary` of each non-allow decision
    object: Literal["rag.answer"] = "rag.answer"


@dataclass(frozen=True, slots=True)
class ModelCard:
    """One alias of ``GET /v1/models``."""

    id: str
    kind: str
    revisions: list[str]
    rag: bool


@dataclass(frozen=True, slots=True)
class DocumentReport:
    """One document of an ingest request: ``error`` set when it failed, counts otherwise."""

    document: str
    status: Literal["added", "updated", "unchanged", "failed"]
    chunks: int = 0
    upserted: int = 0
    removed: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class IngestReport:
    collection: str
    embedder: str
    documents: list[DocumentReport]
    collection_chunks: int


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """One rating, as appended to the feedback file and returned to the client."""

    response_id: str
    rating: str
    comment: str | None
    model: str
    revision: str
    team: str
    created: int


@dataclass(frozen=True, slots=True)
class Readiness:
    """What ``/readyz`` checked. ``milvus`` is None when RAG is off."""

    table_version: str
    table_sha256: str
    backends: dict[str, str]
    aliases: dict[str, bool]
    milvus: str | None = None
    ready: bool = False
    complete: bool = False

    @property
    def status(self) -> str:
        if not self.ready:
            return "not ready"
        return "ready" if self.complete else "degraded"


@dataclass(frozen=True, slots=True)
class TeamUsageReport:
    """One team's line of ``GET /v1/usage`` (``key`` only for the caller's own key)."""

    team: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    key: dict[str, Any] | None = None
