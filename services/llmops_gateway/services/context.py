"""One client request on its way through the gateway: who asked, for which alias, and the
labels its metrics and spans carry. Plain data, passed to every service the request uses."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from opentelemetry.context import Context

from llmops_gateway.domain.guardrails import Decision
from llmops_gateway.services.governance import Caller


@dataclass
class Call:
    """One client request (``revision`` is set once a backend is chosen)."""

    route: str  # API endpoint label: chat | completions | embeddings | rag | ingest
    alias: str
    caller: Caller
    headers: Mapping[str, str]
    trace_context: Context
    started: float = field(default_factory=time.perf_counter)
    revision: str = ""
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Guardrail decisions other than allow, in order: the client sees them (header or field).
    decisions: list[Decision] = field(default_factory=list)

    def guardrail_summaries(self) -> tuple[str, ...]:
        return tuple(decision.summary for decision in self.decisions)

    def labels(self) -> tuple[str, str, str]:
        return self.route, self.alias, self.revision
