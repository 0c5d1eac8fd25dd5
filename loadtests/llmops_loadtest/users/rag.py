"""RAG users against the llmops gateway: questions (``rag_query``) and ingestion (``ingest``).

Both send JSON and read one JSON answer (no stream), so only end-to-end latency and the
``usage`` counts the gateway returns are recorded. A ``200`` is judged further
(`llmops_loadtest.core.answers`): an answer without citations fails as ``no_citations``, an
ingest report with a failed document as ``document_failed``. Paths come from the profile's
``paths``; request fields beyond the defaults go in ``extra_body`` (``top_k``, ``filter`` for
queries; ``collection`` (required), ``chunk_size``, ``embedder`` for ingestion).
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

from locust import task

from llmops_loadtest.core.answers import Judgement, judge_ingest_report, judge_rag_answer
from llmops_loadtest.core.config import Target
from llmops_loadtest.core.prompts import Prompt
from llmops_loadtest.core.records import ErrorKind, RequestKind, RequestRecord
from llmops_loadtest.users.base import LlmopsUser, classify_exception, classify_status


class _JsonUser(LlmopsUser):
    abstract = True
    kind: ClassVar[RequestKind]

    def path(self) -> str:
        raise NotImplementedError

    def request_body(self, target: Target, prompt: Prompt) -> dict[str, Any]:
        raise NotImplementedError

    def judge(self, answer: Any, body: dict[str, Any]) -> Judgement:
        raise NotImplementedError

    @task
    def send(self) -> None:
        target = self.next_target()
        self.report(self.post(target, self.request_body(target, self.next_prompt())))

    def post(self, target: Target, body: dict[str, Any]) -> RequestRecord:
        """Send one request; every outcome, including failures, becomes a record."""
        response, started_at, sent = self.post_json(target, body, stream=False)
        base: dict[str, Any] = {"kind": self.kind, "started_at": started_at, "target": target.label}
        e2e = time.perf_counter() - sent
        status = response.status_code
        error = getattr(response, "error", None)
        if error is not None and not status:
            kind = classify_exception(error)
            reason = f"{type(error).__name__}: {error}"[:200]
            return RequestRecord(**base, e2e_s=e2e, success=False, error_kind=kind, error=reason)
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
            answer = None
            verdict = Judgement(ErrorKind.MALFORMED, "the answer is not JSON")
        else:
            verdict = self.judge(answer, body)
        return RequestRecord(
            **base,
            e2e_s=e2e,
            success=verdict.success,
            status_code=status,
            input_tokens=verdict.input_tokens,
            output_tokens=verdict.output_tokens,
            tokens_from_usage=verdict.tokens_from_usage,
            error_kind=verdict.error_kind,
            error=verdict.error,
        )


class RagQueryUser(_JsonUser):
    """``POST {paths.rag_query}`` with ``{"model", "query", "max_tokens"}`` + ``extra_body``."""

    kind = RequestKind.RAG_QUERY

    def path(self) -> str:
        return self.run_ctx.config.profile.paths.rag_query

    def request_body(self, target: Target, prompt: Prompt) -> dict[str, Any]:
        return self.body(target, {"query": prompt.text, "max_tokens": prompt.max_tokens})

    def judge(self, answer: Any, body: dict[str, Any]) -> Judgement:
        return judge_rag_answer(answer)


class IngestUser(_JsonUser):
    """``POST {paths.ingest}`` with one new document (the next prompt's text) per request.

    The body is the gateway's ``{"collection", "documents": [{"name", "text"}]}``: no
    ``model`` (ingestion uses the collection's embedder, not the target's model).
    """

    kind = RequestKind.INGEST

    def path(self) -> str:
        return self.run_ctx.config.profile.paths.ingest

    def request_body(self, target: Target, prompt: Prompt) -> dict[str, Any]:
        name = f"loadtest-{self._rng.getrandbits(48):012x}.txt"
        document = {"name": name, "text": prompt.text}
        return {"documents": [document], **self.run_ctx.config.profile.extra_body}

    def judge(self, answer: Any, body: dict[str, Any]) -> Judgement:
        return judge_ingest_report(answer, sent=len(body["documents"]))
