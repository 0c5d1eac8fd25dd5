"""RAG users against the llmops gateway: questions (``rag_query``) and ingestion (``ingest``).

Both send JSON and read one JSON answer (no stream), so only end-to-end latency and the
``usage`` counts the gateway returns are recorded. Paths come from the profile's ``paths``;
request fields beyond the defaults go in ``extra_body`` (e.g. ``collection``, ``top_k``).
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

from locust import task

from llmops_loadtest.core.config import Target
from llmops_loadtest.core.prompts import Prompt
from llmops_loadtest.core.records import ErrorKind, RequestKind, RequestRecord
from llmops_loadtest.users.base import LlmopsUser, classify_exception, classify_status


class _JsonUser(LlmopsUser):
    abstract = True
    kind: ClassVar[RequestKind]

    def path(self) -> str:
        raise NotImplementedError

    def payload(self, prompt: Prompt) -> dict[str, Any]:
        raise NotImplementedError

    @task
    def send(self) -> None:
        target = self.next_target()
        body = self.body(target, self.payload(self.next_prompt()))
        self.report(self.post(target, body))

    def post(self, target: Target, body: dict[str, Any]) -> RequestRecord:
        started_at = time.time()
        sent = time.perf_counter()
        headers = {"Content-Type": "application/json", **self.run_ctx.config.profile.headers}
        response = self.client.request(
            "POST",
            target.url.rstrip("/") + self.path(),
            data=json.dumps(body),
            headers=headers,
            catch_response=True,
        )
        base: dict[str, Any] = {"kind": self.kind, "started_at": started_at, "target": target.label}
        e2e = time.perf_counter() - sent
        status = response.status_code
        error = getattr(response, "error", None)
        if error is not None and not status:
            kind = classify_exception(error)
            return RequestRecord(
                **base, e2e_s=e2e, success=False, error_kind=kind, error=str(error)
            )
        if not 200 <= status < 300:
            return RequestRecord(
                **base,
                e2e_s=e2e,
                success=False,
                status_code=status,
                error_kind=classify_status(status),
                error=(response.text or "")[:200],
            )
        try:
            answer = json.loads(response.text or "")
        except ValueError:
            return RequestRecord(
                **base,
                e2e_s=e2e,
                success=False,
                status_code=status,
                error_kind=ErrorKind.STREAM,
                error="answer is not JSON",
            )
        usage = answer.get("usage") if isinstance(answer, dict) else None
        usage = usage if isinstance(usage, dict) else {}
        return RequestRecord(
            **base,
            e2e_s=e2e,
            success=True,
            status_code=status,
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            tokens_from_usage=bool(usage),
        )


class RagQueryUser(_JsonUser):
    """``POST {paths.rag_query}`` with ``{"model", "query", "max_tokens"}``."""

    kind = RequestKind.RAG_QUERY

    def path(self) -> str:
        return self.run_ctx.config.profile.paths.rag_query

    def payload(self, prompt: Prompt) -> dict[str, Any]:
        return {"query": prompt.text, "max_tokens": prompt.max_tokens}


class IngestUser(_JsonUser):
    """``POST {paths.ingest}`` with one generated document per request."""

    kind = RequestKind.INGEST

    def path(self) -> str:
        return self.run_ctx.config.profile.paths.ingest

    def payload(self, prompt: Prompt) -> dict[str, Any]:
        doc_id = f"loadtest-{self._rng.getrandbits(48):012x}"
        return {"documents": [{"id": doc_id, "text": prompt.text}]}
