"""Request bodies the gateway validates (wrong types -> 400 in OpenAI's error shape).

OpenAI request models allow extra fields: anything the gateway does not need to read
(``temperature``, ``logprobs``, vLLM's extensions ...) passes through to the backend as sent.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

COLLECTION_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,254}$"


class _OpenAIBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1)
    user: str | None = None

    def upstream_body(self) -> dict[str, Any]:
        """The body as the client sent it (unset fields stay unset)."""
        return self.model_dump(exclude_unset=True)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(_OpenAIBody):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stream_options: dict[str, Any] | None = None
    # RAG aliases only: restrict retrieval, e.g. {"lang": "en"}.
    rag_filter: dict[str, Any] | None = None


class CompletionRequest(_OpenAIBody):
    prompt: str | list[str] | list[int] | list[list[int]]
    stream_options: dict[str, Any] | None = None


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    input: str | list[str] | list[int] | list[list[int]]
    user: str | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> EmbeddingRequest:
        if self.input in ([], ""):
            raise ValueError("input must not be empty")
        return self


class RagQueryRequest(BaseModel):
    """``POST /v1/rag/query``: one question against a RAG alias."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="A model alias whose backends carry `rag`.")
    query: str = Field(min_length=1)
    top_k: int | None = Field(default=None, ge=1, le=50)
    filter: dict[str, Any] | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    user: str | None = None


class IngestDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=1024)
    text: str | None = None
    content_base64: str | None = Field(default=None, description="PDF bytes, base64.")
    media_type: Literal["text/plain", "text/markdown", "application/pdf"] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_source(self) -> IngestDocument:
        if (self.text is None) == (self.content_base64 is None):
            raise ValueError("give exactly one of text and content_base64")
        return self


class IngestRequest(BaseModel):
    """``POST /v1/ingest``: documents into a collection (upserted by content hash)."""

    model_config = ConfigDict(extra="forbid")

    collection: str = Field(pattern=COLLECTION_NAME)
    documents: list[IngestDocument] = Field(min_length=1)
    embedder: str | None = Field(default=None, description="Embeddings alias; default set.")
    chunk_size: int = Field(default=800, ge=100, le=8000)
    chunk_overlap: int = Field(default=120, ge=0, le=2000)

    @model_validator(mode="after")
    def _overlap(self) -> IngestRequest:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    response_id: str = Field(min_length=1, max_length=200)
    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=4000)
