"""Ingestion: documents -> chunks -> embeddings -> idempotent upserts into a collection.

Per document (see `domain.chunking` for the key contract):
1. chunk the text with overlap; each chunk's key is a hash of (document, text);
2. if the collection already holds exactly these keys for the document, it is
   ``unchanged`` and nothing is embedded or written;
3. otherwise every chunk is embedded and upserted first, and only then are the keys the
   document no longer produces deleted. A crash between the two leaves extra chunks (removed
   by the next ingest), never missing ones; a retried batch upserts the same keys again.
The report has one entry per document: status, chunks, upserted, removed (or the error).
"""

from __future__ import annotations

import base64

from llmops_gateway.clients.documents import pdf_text
from llmops_gateway.domain.chunking import chunk_document
from llmops_gateway.domain.errors import GatewayError, InvalidRequestError
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
        self, retrieval: Retrieval, accounting: Accounting, default_embedder: str, batch_size: int
    ) -> None:
        self._retrieval = retrieval
        self._accounting = accounting
        self.default_embedder = default_embedder
        self._batch_size = batch_size

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
        reports = []
        for document in request.documents:
            try:
                reports.append(await self._ingest_one(call, request, document, embedder))
            except GatewayError as err:
                if err.status >= 500:
                    raise
                reports.append(
                    DocumentReport(document=document.name, status="failed", error=err.message)
                )
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
        self, call: Call, request: IngestRequest, document: IngestDocument, embedder: str
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
        batch = self._batch_size
        for start in range(0, len(chunks), batch):
            part = chunks[start : start + batch]
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
        stale = sorted(stored - keys)
        await store.delete(request.collection, stale)
        return DocumentReport(
            document=document.name,
            status="updated" if stored else "added",
            chunks=len(chunks),
            upserted=len(chunks),
            removed=len(stale),
        )
