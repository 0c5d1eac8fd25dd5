"""Milvus collections for RAG: a Milvus Lite file by default, a Milvus server by URI.

Collection layout (created on first ingestion, dimension taken from the embeddings)::

    id        VARCHAR(64), primary key: chunk_key(document, text), a content hash
    vector    FLOAT_VECTOR(dim), COSINE, FLAT index (the only one Milvus Lite has)
    document  VARCHAR(1024): the document's name (path relative to the ingest root)
    chunk     INT64: position of the chunk in its document
    text      VARCHAR(16384)
    metadata  JSON: free-form, filterable (``metadata["lang"] == "en"``)

pymilvus is synchronous: every call runs in a worker thread so the event loop keeps
serving. Milvus Lite holds its file with an exclusive lock: one process per file.

A Milvus server that does not answer yet (a pod starting beside the gateway's) does not stop
the gateway: chat and completions need no Milvus. The store connects on first use instead,
at most once per `RECONNECT_INTERVAL_S`, and until then RAG and ingestion answer 503
``vector_store_unavailable`` naming the URI.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import anyio

from llmops_gateway.domain.errors import InvalidRequestError, UnavailableError

log = logging.getLogger("llmops_gateway")
RECONNECT_INTERVAL_S = 5.0

_MAX_TEXT = 16_384
_FIELD_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Hit:
    """One search result; ``score`` is the cosine similarity (higher is closer)."""

    id: str
    document: str
    chunk: int
    text: str
    score: float
    metadata: dict[str, Any]


# Milvus string literals know \\, \", \n, \r and \t, and no \u escape (measured: "unknown
# escape sequence \u"); every other character is sent as itself (UTF-8).
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def milvus_literal(value: str | float | bool, param: str) -> str:
    """A value as a literal of a Milvus expression, quotes escaped so they cannot break out.
    A string holding a lone surrogate (``"\\udb72"`` in a JSON body is valid JSON but not
    text) cannot be sent at all: it is refused as bad input."""
    if not isinstance(value, str):
        return json.dumps(value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise InvalidRequestError(
            f"{param} holds a lone UTF-16 surrogate ({value!r}); send valid Unicode text",
            param=param,
        ) from err
    return '"' + "".join(_ESCAPES.get(char, char) for char in value) + '"'


def build_filter_expr(where: dict[str, Any] | None) -> str:
    """A Milvus boolean expression from ``{"lang": "en", "document": "a.md"}`` (equality,
    ANDed). ``document`` filters the column; other keys the JSON ``metadata``. Values are
    `milvus_literal` s, so quotes in them cannot break out of the expression."""
    if not where:
        return ""
    parts = []
    for key, value in sorted(where.items()):
        if not _FIELD_KEY.match(key):
            raise InvalidRequestError(f"filter key {key!r} is not a plain name", param="filter")
        if not isinstance(value, str | int | float | bool):
            raise InvalidRequestError(f"filter value of {key!r} must be a scalar", param="filter")
        target = "document" if key == "document" else f'metadata["{key}"]'
        parts.append(f"{target} == {milvus_literal(value, 'filter')}")
    return " and ".join(parts)


class VectorStore:
    """Async facade over a `pymilvus.MilvusClient`."""

    def __init__(self, uri: str, token: str = "") -> None:
        self.uri = uri
        self._token = token
        self._client: Any = None
        self._limiter = anyio.CapacityLimiter(4)
        # Concurrent first ingests into one collection would both try to create it (Milvus
        # answers the second with an error): check-and-create runs one at a time.
        self._creating = anyio.Lock()
        self._connecting = anyio.Lock()
        self._last_attempt = -RECONNECT_INTERVAL_S
        self._last_error = ""

    async def open(self) -> None:
        """Connect now if Milvus answers; else log why and connect on first use."""
        try:
            await self._connect()
        except UnavailableError as err:
            log.warning("%s", err.message)

    async def _connect(self) -> None:
        # Imported here: pymilvus takes seconds to import, and gateways without RAG skip it.
        def _client() -> Any:
            from pymilvus import MilvusClient  # type: ignore[import-untyped]  # noqa: PLC0415

            return MilvusClient(uri=self.uri, token=self._token)

        async with self._connecting:
            if self._client is not None:
                return
            if time.monotonic() - self._last_attempt < RECONNECT_INTERVAL_S:
                raise self._unavailable()
            self._last_attempt = time.monotonic()
            try:
                self._client = await anyio.to_thread.run_sync(_client)
            except Exception as err:
                self._last_error = f"{type(err).__name__}: {err}"
                raise self._unavailable() from err
            log.info("connected to Milvus at %s", self.uri)

    def _unavailable(self) -> UnavailableError:
        return UnavailableError(
            f"Milvus at {self.uri} does not answer ({self._last_error}); RAG and ingestion "
            "work again once it does (the gateway retries every "
            f"{RECONNECT_INTERVAL_S:.0f} s). Check the Milvus pod or milvus.uri.",
            code="vector_store_unavailable",
            retry_after_s=RECONNECT_INTERVAL_S,
        )

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await anyio.to_thread.run_sync(client.close)

    async def _run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self._client is None:
            await self._connect()
        call = getattr(self._client, method)
        return await anyio.to_thread.run_sync(lambda: call(*args, **kwargs), limiter=self._limiter)

    async def ping(self) -> None:
        await self._run("list_collections")

    async def has_collection(self, name: str) -> bool:
        return bool(await self._run("has_collection", name))

    async def count(self, name: str) -> int:
        # Not get_collection_stats: a Milvus server counts only flushed segments there, so
        # rows inserted a moment ago are missing (Milvus Lite counts them either way).
        rows = await self._run("query", name, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    async def ensure_collection(self, name: str, dim: int) -> None:
        async with self._creating:
            await self._create_if_missing(name, dim)

    async def _create_if_missing(self, name: str, dim: int) -> None:
        if await self.has_collection(name):
            return
        from pymilvus import DataType, MilvusClient  # noqa: PLC0415

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("document", DataType.VARCHAR, max_length=1024)
        schema.add_field("chunk", DataType.INT64)
        schema.add_field("text", DataType.VARCHAR, max_length=_MAX_TEXT)
        schema.add_field("metadata", DataType.JSON)
        index = self._client.prepare_index_params()
        index.add_index("vector", index_type="FLAT", metric_type="COSINE")
        # Strong: a search right after an ingest sees what it stored (a Milvus server
        # defaults to Bounded staleness; Milvus Lite is always strong).
        await self._run(
            "create_collection",
            name,
            schema=schema,
            index_params=index,
            consistency_level="Strong",
        )

    async def document_keys(self, name: str, document: str) -> set[str]:
        """Keys of the document's stored chunks."""
        rows = await self._run(
            "query",
            name,
            filter=f"document == {milvus_literal(document, 'documents')}",
            output_fields=["id"],
        )
        return {str(row["id"]) for row in rows}

    async def upsert(self, name: str, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            row["text"] = row["text"][:_MAX_TEXT]
        await self._run("upsert", name, rows)

    async def delete(self, name: str, ids: list[str]) -> None:
        if ids:
            await self._run("delete", name, ids=ids)

    async def search(
        self, name: str, vector: list[float], top_k: int, where: dict[str, Any] | None = None
    ) -> list[Hit]:
        result = await self._run(
            "search",
            name,
            [vector],
            limit=top_k,
            filter=build_filter_expr(where),
            output_fields=["document", "chunk", "text", "metadata"],
            search_params={"metric_type": "COSINE"},
        )
        hits = result[0] if result else []
        return [
            Hit(
                id=str(hit["id"]),
                document=str(hit["entity"]["document"]),
                chunk=int(hit["entity"]["chunk"]),
                text=str(hit["entity"]["text"]),
                score=float(hit["distance"]),
                metadata=dict(hit["entity"].get("metadata") or {}),
            )
            for hit in hits
        ]
