"""Locust users. Imported only inside the Locust process (via `llmops_loadtest.locustfile`).

- `CompletionStreamUser`, `ChatStreamUser`: streaming OpenAI-compatible generation;
- `RagQueryUser`, `IngestUser`: the gateway's RAG query and document ingestion endpoints.

Every request becomes one `RequestRecord` (JSONL, one file per process) and Locust request
events (``e2e`` with output tokens as response length, plus ``ttft``) for the live view.
"""
