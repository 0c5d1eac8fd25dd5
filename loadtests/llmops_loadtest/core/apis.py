"""Which Locust user class serves which profile ``api`` (names only: core imports no Locust)."""

from __future__ import annotations

USER_CLASS_BY_API: dict[str, str] = {
    "completions": "CompletionStreamUser",
    "chat": "ChatStreamUser",
    "rag_query": "RagQueryUser",
    "ingest": "IngestUser",
}
