"""Everything a request needs, opened once by the app's lifespan and kept on ``app.state``.

Stored state: the current routing table (swapped on reload), passive backend health,
limiter buckets and usage counters (`Governance`), and the last responses served (id ->
alias, revision), so ``/v1/feedback`` can attribute a rating to the revision that answered.
"""

from __future__ import annotations

import json
import logging
import random
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from opentelemetry.trace import Tracer

from llmops_gateway.clients.routing_file import RoutingSource
from llmops_gateway.clients.upstream import HttpClients
from llmops_gateway.clients.vectorstore import VectorStore
from llmops_gateway.domain.guardrails import Decision
from llmops_gateway.domain.routing import BackendHealth
from llmops_gateway.governance import Governance
from llmops_gateway.metrics import GatewayMetrics
from llmops_gateway.settings import GatewaySettings

log = logging.getLogger("llmops_gateway.guardrails")
_REMEMBERED_RESPONSES = 50_000


@dataclass(frozen=True)
class ServedResponse:
    alias: str
    revision: str
    team: str


@dataclass
class Runtime:
    settings: GatewaySettings
    metrics: GatewayMetrics
    tracer: Tracer
    http: HttpClients
    routing: RoutingSource
    health: BackendHealth
    governance: Governance
    vectors: VectorStore | None
    rng: random.Random = field(default_factory=random.Random)
    responses: OrderedDict[str, ServedResponse] = field(default_factory=OrderedDict)
    _feedback_lock: anyio.Lock = field(default_factory=anyio.Lock)

    def remember_response(self, response_id: str, served: ServedResponse) -> None:
        if not response_id:
            return
        self.responses[response_id] = served
        while len(self.responses) > _REMEMBERED_RESPONSES:
            self.responses.popitem(last=False)

    def record_decision(self, route: str, alias: str, decision: Decision) -> None:
        """Log and count a guardrail decision (allow is neither)."""
        if decision.action == "allow":
            return
        self.metrics.guardrail.labels(route, alias, decision.check, decision.action).inc()
        log.info(
            "guardrail %s: %s on %s (rules: %s)",
            decision.check,
            decision.action,
            alias,
            ",".join(decision.rules),
        )

    async def append_feedback(self, record: dict[str, Any]) -> None:
        path: Path | None = self.settings.feedback_file
        if path is None:
            return
        line = json.dumps(record, separators=(",", ":")) + "\n"
        async with self._feedback_lock:
            await anyio.Path(path).parent.mkdir(parents=True, exist_ok=True)
            async with await anyio.open_file(path, "a") as file:
                await file.write(line)
