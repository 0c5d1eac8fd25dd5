"""Judging the JSON answers of the llmops gateway's RAG endpoints (pure: no HTTP here).

A ``200`` is not enough: a RAG answer that cites nothing was not grounded in retrieval,
and an ingest report can list a document as failed. Both count as failed samples, with an
error kind of their own, so the gate's ``error_ratio`` sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmops_loadtest.core.records import ErrorKind


@dataclass(frozen=True, slots=True)
class Judgement:
    """What one answer says: failed (``error_kind`` set) or not, and its token counts."""

    error_kind: ErrorKind | None = None
    error: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    tokens_from_usage: bool = False

    @property
    def success(self) -> bool:
        return self.error_kind is None


def _usage(answer: dict[str, Any]) -> tuple[int, int, bool]:
    usage = answer.get("usage")
    if not isinstance(usage, dict) or "prompt_tokens" not in usage:
        return 0, 0, False
    return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0), True


def judge_rag_answer(answer: Any) -> Judgement:
    """``POST /v1/rag/query``: ``{answer, citations: [...], usage}`` with at least one citation."""
    if not isinstance(answer, dict) or not isinstance(answer.get("answer"), str):
        return Judgement(ErrorKind.MALFORMED, "no 'answer' text in the response")
    prompt, completion, from_usage = _usage(answer)
    citations = answer.get("citations")
    kind, error = None, ""
    if not isinstance(citations, list) or not citations:
        kind, error = ErrorKind.NO_CITATIONS, "the answer cites no retrieved passage"
    return Judgement(kind, error, prompt, completion, from_usage)


def judge_ingest_report(report: Any, sent: int) -> Judgement:
    """``POST /v1/ingest``: one report entry per sent document, none of them ``failed``."""
    documents = report.get("documents") if isinstance(report, dict) else None
    if not isinstance(documents, list) or len(documents) != sent:
        return Judgement(ErrorKind.MALFORMED, f"expected a report for {sent} document(s)")
    failed = [
        doc for doc in documents if not isinstance(doc, dict) or doc.get("status") == "failed"
    ]
    if failed:
        first = failed[0] if isinstance(failed[0], dict) else {}
        reason = f"{first.get('document', '?')}: {first.get('error', 'failed')}"
        return Judgement(ErrorKind.DOCUMENT_FAILED, reason[:200])
    return Judgement()
