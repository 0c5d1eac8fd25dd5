"""The gateway's services, built once by the app factory (`llmops_gateway.app`) and kept on
``app.state.services``; each router takes the one it needs through a dependency."""

from __future__ import annotations

from dataclasses import dataclass

from llmops_gateway.clients.metrics import GatewayMetrics
from llmops_gateway.services.accounting import Accounting
from llmops_gateway.services.catalog import Catalog
from llmops_gateway.services.feedback import Feedback
from llmops_gateway.services.generation import Generation
from llmops_gateway.services.governance import Governance
from llmops_gateway.services.ingest import Ingestion
from llmops_gateway.services.rag import Retrieval
from llmops_gateway.services.readiness import ReadinessCheck


@dataclass(frozen=True)
class Services:
    metrics: GatewayMetrics
    accounting: Accounting
    governance: Governance
    generation: Generation
    retrieval: Retrieval
    ingestion: Ingestion
    catalog: Catalog
    feedback: Feedback
    readiness: ReadinessCheck
