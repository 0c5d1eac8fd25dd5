"""Ingestion: documents -> chunks -> embeddings -> idempotent upserts into a collection.

Per document (see `domain.chunking` for the key contract):
1. chunk the text with overlap; each chunk's key is a hash of (document, text);
2. if the collection already holds exactly these keys for the document, it is
   ``unchanged`` and nothing is embedded or written;
3. otherwise the chunks whose keys are not stored yet are embedded and upserted, and only
   then are the keys the document no longer produces deleted. A crash between the two leaves
   extra chunks (removed by the next ingest), never missing ones; chunks already written are
   not embedded again, so a request re-sent after a timeout, a disconnect or a crash
   resumes where the last one stopped.
The report has one entry per document: status, chunks, upserted, removed (or the error).

Bounds: one request works at most ``timeout_s`` (then `IngestTimeoutError`, 504, with its
progress in the message); when the client disconnects the work is cancelled between two
Milvus or embedder calls (the body middleware cancels it).
"""

from __future__ import annotations

import base64
import time

import anyio

from llmops_gateway.clients.documents import pdf_text
from llmops_gateway.domain.chunking import chunk_document
from llmops_gateway.domain.errors import GatewayError, IngestTimeoutError, InvalidRequestError
from llmops_gateway.domain.results import DocumentReport, IngestReport
from llmops_gateway.domain.schemas import IngestDocument, IngestRequest
from llmops_gateway.services.accounting import Accounting
from llmops_gateway.services.context import Call
from llmops_gateway.services.rag import Retrieval


def document_text(document: IngestDocument) -> str:
    if document.text is not None:
        return document.text
    try:
        data = base64.b64decode(document.content_base64 or "", validate=True)
    except ValueError as err:  # binascii.Error, or characters outside ASCII
        raise InvalidRequestError(
            f"{document.name}: content_base64 is not valid base64 (A-Z, a-z, 0-9, +, / and "
            "= padding only)",
            param="documents",
        ) from err
    if document.media_type not in (None, "application/pdf"):
        return data.decode("utf-8", errors="replace")
    return pdf_text(data, document.name)


class Ingestion:
    def __init__(
        self,
        retrieval: Retrieval,
        accounting: Accounting,
        default_embedder: str,
        batch_size: int,
        timeout_s: float,
    ) -> None:
        self._retrieval = retrieval
        self._accounting = accounting
        self.default_embedder = default_embedder
        self._batch_size = batch_size
        self._timeout_s = timeout_s

    def embedder_of(self, request: IngestRequest) -> str:
        """The embeddings alias a request spends (the key must be allowed to use it)."""
        return request.embedder or self.default_embedder

    async def ingest(self, call: Call, request: IngestRequest) -> IngestReport:
        """Ingest every document; a document that fails is reported, the others go on.

        Failures of the infrastructure (embedder or Milvus unavailable) abort the request
        with their own status: retrying the whole request is safe. Counted like every other
        route, so load tests and dashboards see ingestion traffic.
        """
        store = self._retrieval.store()
        embedder = self.embedder_of(request)
        reports: list[DocumentReport] = []
        written = [0]  # chunks upserted so far, for the timeout's message
        started = time.monotonic()
        try:
            with anyio.fail_after(self._timeout_s):
                for document in request.documents:
                    try:
                        report = await self._ingest_one(call, request, document, embedder, written)
                    except GatewayError as err:
                        if err.status >= 500:
                            raise
                        report = DocumentReport(
                            document=document.name, status="failed", error=err.message
                        )
                    reports.append(report)
        except TimeoutError as err:
            raise IngestTimeoutError(
                f"Ingest stopped at its limit of {self._timeout_s:g} s "
                f"(after {time.monotonic() - started:.0f} s): {len(reports)} of "
                f"{len(request.documents)} documents done, {written[0]} chunks written. "
                "Send the same request again: it resumes where this one stopped (done "
                "documents are unchanged, written chunks are not embedded again). Or send "
                "fewer or smaller documents per request."
            ) from err
        self._accounting.ingested(
            request.collection,
            upserted=sum(report.upserted for report in reports),
            removed=sum(report.removed for report in reports),
        )
        count = (
            await store.count(request.collection)
            if await store.has_collection(request.collection)
            else 0
        )
        self._accounting.served(call)
        return IngestReport(
            collection=request.collection,
            embedder=embedder,
            documents=reports,
            collection_chunks=count,
        )

    async def _ingest_one(
        self,
        call: Call,
        request: IngestRequest,
        document: IngestDocument,
        embedder: str,
        written: list[int],
    ) -> DocumentReport:
        store = self._retrieval.store()
        text = document_text(document)
        chunks = chunk_document(
            document.name, text, size=request.chunk_size, overlap=request.chunk_overlap
        )
        if not chunks:
            raise InvalidRequestError(f"{document.name}: no text to ingest", param="documents")
        keys = {chunk.key for chunk in chunks}
        exists = await store.has_collection(request.collection)
        stored = await store.document_keys(request.collection, document.name) if exists else set()
        if stored == keys:
            return DocumentReport(document=document.name, status="unchanged", chunks=len(chunks))
        todo = [chunk for chunk in chunks if chunk.key not in stored]  # resume, if partial
        batch = self._batch_size
        for start in range(0, len(todo), batch):
            part = todo[start : start + batch]
            vectors = await self._retrieval.embed_texts(call, embedder, [c.text for c in part])
            if not exists:
                await store.ensure_collection(request.collection, dim=len(vectors[0]))
                exists = True
            await store.upsert(
                request.collection,
                [
                    {
                        "id": chunk.key,
                        "vector": vector,
                        "document": document.name,
                        "chunk": chunk.index,
                        "text": chunk.text,
                        "metadata": document.metadata,
                    }
                    for chunk, vector in zip(part, vectors, strict=True)
                ],
            )
            written[0] += len(part)
        stale = sorted(stored - keys)
        await store.delete(request.collection, stale)
        return DocumentReport(
            document=document.name,
            status="updated" if stored else "added",
            chunks=len(chunks),
            upserted=len(todo),
            removed=len(stale),
        )
