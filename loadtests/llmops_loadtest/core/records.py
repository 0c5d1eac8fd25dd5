"""The typed per-request record every user writes, one JSON object per line.

A record is the single source of the report's numbers: Locust's own statistics are shown
live but never enter the verdict. Times are seconds; ``started_at`` is epoch seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class ErrorKind(StrEnum):
    """Why a request failed; one value per failed record."""

    CONNECT = "connect"  # refused, reset or DNS: the target is not there
    TIMEOUT = "timeout"  # no answer within the profile's request timeout
    HTTP_4XX = "http_4xx"  # the target rejected the request
    HTTP_5XX = "http_5xx"  # the target failed
    STREAM = "stream"  # the SSE stream was malformed or ended without [DONE]
    EMPTY = "empty"  # a successful status but no output token
    MALFORMED = "malformed"  # a successful status but an answer of the wrong shape
    NO_CITATIONS = "no_citations"  # a RAG answer that cites no retrieved passage
    DOCUMENT_FAILED = "document_failed"  # the gateway reported an ingested document as failed


class RequestKind(StrEnum):
    CHAT = "chat"
    COMPLETION = "completion"
    RAG_QUERY = "rag_query"
    INGEST = "ingest"


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as measured by a user.

    ``ttft_s``: request sent -> first output token. ``itl_s``: gaps between consecutive
    output-token chunks, the first token excluded. ``tpot_s``: (e2e - ttft) / (output - 1),
    ``None`` with fewer than two output tokens. Token counts come from the server's ``usage``
    when it sends one (``tokens_from_usage``), otherwise from counted chunks.
    """

    kind: RequestKind
    started_at: float
    e2e_s: float
    success: bool
    target: str = "target"
    ttft_s: float | None = None
    itl_s: tuple[float, ...] = field(default_factory=tuple)
    tpot_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    tokens_from_usage: bool = False
    error_kind: ErrorKind | None = None
    error: str = ""
    status_code: int = 0

    @property
    def ended_at(self) -> float:
        return self.started_at + self.e2e_s

    def to_json(self) -> str:
        data = asdict(self)
        data["itl_s"] = [round(gap, 6) for gap in self.itl_s]
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestRecord:
        error_kind = data.get("error_kind")
        return cls(
            kind=RequestKind(data["kind"]),
            started_at=float(data["started_at"]),
            e2e_s=float(data["e2e_s"]),
            success=bool(data["success"]),
            target=str(data.get("target", "target")),
            ttft_s=_opt_float(data.get("ttft_s")),
            itl_s=tuple(float(gap) for gap in data.get("itl_s", ())),
            tpot_s=_opt_float(data.get("tpot_s")),
            input_tokens=int(data.get("input_tokens", 0)),
            output_tokens=int(data.get("output_tokens", 0)),
            tokens_from_usage=bool(data.get("tokens_from_usage", False)),
            error_kind=ErrorKind(error_kind) if error_kind else None,
            error=str(data.get("error", "")),
            status_code=int(data.get("status_code", 0)),
        )


def _opt_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def compute_tpot_s(e2e_s: float, ttft_s: float | None, output_tokens: int) -> float | None:
    """Time per output token after the first: the decode speed one user sees."""
    if ttft_s is None or output_tokens < 2:
        return None
    return max(e2e_s - ttft_s, 0.0) / (output_tokens - 1)


def read_records(paths: Iterable[Path]) -> list[RequestRecord]:
    """All records from JSONL files, ordered by start time; a torn last line is skipped."""
    records: list[RequestRecord] = []
    for path in paths:
        records.extend(_read_file(path))
    records.sort(key=lambda record: record.started_at)
    return records


def _read_file(path: Path) -> Iterator[RequestRecord]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.endswith("\n"):
                return  # a writer still appending: the line is incomplete
            try:
                yield RequestRecord.from_dict(json.loads(line))
            except (ValueError, KeyError):
                continue
