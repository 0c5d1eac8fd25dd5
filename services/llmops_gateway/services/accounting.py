"""The one place a call is accounted for: admission, metrics, token usage and budgets,
spans, guardrail decisions, and the responses remembered for feedback.

Every counter a request moves is moved here, so a route cannot forget one or count one
twice: a failed call is counted once (`failed` marks the error ``counted``; the app's error
handler counts only errors that were not, such as a 401 before any alias is known).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Tracer

from llmops_contracts.routing import Backend, RagSettings
from llmops_gateway.clients.metrics import GatewayMetrics
from llmops_gateway.clients.telemetry import PROVIDER_NAME, extract_context, inject_headers
from llmops_gateway.domain.answers import classify_answer
from llmops_gateway.domain.errors import GatewayError
from llmops_gateway.domain.guardrails import Decision
from llmops_gateway.services.context import Call
from llmops_gateway.services.governance import Caller, Governance

log = logging.getLogger("llmops_gateway.guardrails")
_REMEMBERED_RESPONSES = 50_000
OPERATIONS = {
    "chat": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
    "rag": "chat",
}


@dataclass(frozen=True)
class ServedResponse:
    alias: str
    revision: str
    team: str


class ResponseLog:
    """The last responses served (id -> alias, revision), so ``/v1/feedback`` can attribute
    a rating to the revision that answered. Bounded: the oldest are forgotten first."""

    def __init__(self, size: int = _REMEMBERED_RESPONSES) -> None:
        self._size = size
        self._responses: OrderedDict[str, ServedResponse] = OrderedDict()

    def remember(self, response_id: str, served: ServedResponse) -> None:
        if not response_id:
            return
        self._responses[response_id] = served
        while len(self._responses) > self._size:
            self._responses.popitem(last=False)

    def get(self, response_id: str) -> ServedResponse | None:
        return self._responses.get(response_id)


class Accounting:
    """Metrics, spans and usage of every call."""

    def __init__(
        self,
        metrics: GatewayMetrics,
        tracer: Tracer,
        governance: Governance,
        responses: ResponseLog,
    ) -> None:
        self.metrics = metrics
        self.tracer = tracer
        self.governance = governance
        self.responses = responses

    # -- a call's life ------------------------------------------------------------------
    async def open_call(
        self, route: str, alias: str, caller: Caller, headers: Mapping[str, str]
    ) -> Call:
        """A call for ``alias``, admitted by governance (403/429 raised here, counted)."""
        call = Call(
            route=route,
            alias=alias,
            caller=caller,
            headers=headers,
            trace_context=extract_context(headers),
        )
        try:
            await self.governance.admit(caller, alias)
        except GatewayError as err:
            self.failed(call, err)
            raise
        return call

    @asynccontextmanager
    async def in_flight(self, call: Call) -> AsyncIterator[None]:
        """Count the call in flight; a failure is counted once, under its labels.

        The ``<route> <alias>`` server span (the caller's ``traceparent`` its parent) is the
        root of the gateway's part of the trace: retrieval, embedding and generation spans
        start under it. It ends when the handler returns, i.e. when a stream starts: a
        streamed generation's span may outlast it.
        """
        span = self.tracer.start_span(
            f"{call.route} {call.alias}", context=call.trace_context, kind=SpanKind.SERVER
        )
        span.set_attributes({"llmops.route": call.route, "llmops.model_alias": call.alias})
        call.trace_context = trace.set_span_in_context(span, call.trace_context)
        self.metrics.in_flight.labels(call.route).inc()
        try:
            yield
        except GatewayError as err:
            self.failed(call, err)
            span.set_status(trace.StatusCode.ERROR, err.code)
            raise
        except anyio.get_cancelled_exc_class():
            # The client left before the answer (the body middleware cancels its work).
            self.metrics.requests.labels(*call.labels(), "499").inc()
            self.metrics.errors.labels(*call.labels(), "client_disconnected").inc()
            span.set_status(trace.StatusCode.ERROR, "client_disconnected")
            raise
        finally:
            self.metrics.in_flight.labels(call.route).dec()
            span.set_attribute("llmops.revision", call.revision)
            span.end()

    def failed(self, call: Call, err: GatewayError) -> None:
        self.metrics.errors.labels(*call.labels(), err.code).inc()
        self.metrics.requests.labels(*call.labels(), str(err.status)).inc()
        err.counted = True

    def served(self, call: Call, backend: Backend | None = None, response_id: str = "") -> None:
        """A 200: counted, timed, and remembered for feedback when it has an id."""
        self.metrics.requests.labels(*call.labels(), "200").inc()
        self.metrics.latency.labels(*call.labels()).observe(time.perf_counter() - call.started)
        if backend is not None:
            self.responses.remember(
                response_id,
                ServedResponse(alias=call.alias, revision=backend.revision, team=call.caller.team),
            )

    def answered(self, call: Call, text: str, *, refused: bool = False) -> None:
        """A generated answer served: answered, empty or a refusal (`domain.answers`)."""
        outcome = classify_answer(text, refused=refused)
        self.metrics.answers.labels(*call.labels(), outcome).inc()

    def stream_broke(self, call: Call, outcome: str, span: Span) -> None:
        """A stream that did not end by itself: cancelled by the client (499) or broken by
        the backend (502), after the 200 was sent."""
        status = "499" if outcome == "cancelled" else "502"
        self.metrics.requests.labels(*call.labels(), status).inc()
        self.metrics.errors.labels(*call.labels(), outcome).inc()
        span.set_status(trace.StatusCode.ERROR, outcome)

    def first_token(self, call: Call, now: float) -> None:
        self.metrics.ttft.labels(*call.labels()).observe(now - call.started)

    def next_token(self, call: Call, since_last_s: float) -> None:
        self.metrics.itl.labels(*call.labels()).observe(since_last_s)

    def fallback(self, call: Call, backend: Backend) -> None:
        self.metrics.fallbacks.labels(call.alias, backend.name).inc()

    # -- tokens -----------------------------------------------------------------------------
    def usage(self, call: Call, span: Span, usage: Mapping[str, Any] | None) -> None:
        """Tokens in/out onto the span, into metrics and the caller's team and key counters."""
        if usage:
            span.set_attribute("gen_ai.usage.input_tokens", int(usage.get("prompt_tokens") or 0))
            span.set_attribute(
                "gen_ai.usage.output_tokens", int(usage.get("completion_tokens") or 0)
            )
        prompt = int((usage or {}).get("prompt_tokens") or 0)
        completion = int((usage or {}).get("completion_tokens") or 0)
        self.metrics.prompt_tokens.labels(*call.labels()).inc(prompt)
        self.metrics.completion_tokens.labels(*call.labels()).inc(completion)
        if prompt > 0:  # no usage reported: no length to observe (not a 0-token prompt)
            self.metrics.prompt_length.labels(*call.labels()).observe(prompt)
        self.metrics.team_tokens.labels(call.caller.team, "in").inc(prompt)
        self.metrics.team_tokens.labels(call.caller.team, "out").inc(completion)
        self.governance.record(call.caller, prompt, completion)

    # -- spans ------------------------------------------------------------------------------
    def start_span(self, call: Call, backend: Backend, body: Mapping[str, Any]) -> Span:
        """The ``generate <model>`` / ``embed <model>`` client span of one backend attempt."""
        operation = OPERATIONS[call.route]
        span = self.tracer.start_span(
            f"generate {backend.model}" if operation != "embeddings" else f"embed {backend.model}",
            context=call.trace_context,
            kind=SpanKind.CLIENT,
        )
        host = httpx.URL(backend.url)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": PROVIDER_NAME,
            "gen_ai.request.model": backend.model,
            "server.address": host.host,
            "server.port": host.port or 80,
            "llmops.model_alias": call.alias,
            "llmops.revision": backend.revision,
            "llmops.backend": backend.name,
        }
        for key, attribute in (
            ("max_tokens", "gen_ai.request.max_tokens"),
            ("temperature", "gen_ai.request.temperature"),
            ("top_p", "gen_ai.request.top_p"),
        ):
            if isinstance(body.get(key), int | float):
                attributes[attribute] = body[key]
        span.set_attributes(attributes)
        return span

    def upstream_headers(self, call: Call, span: Span) -> dict[str, str]:
        """The request id and the span's trace context, for the backend."""
        headers = {"x-request-id": call.request_id}
        return inject_headers(headers, trace.set_span_in_context(span, call.trace_context))

    @contextmanager
    def retrieval(self, call: Call, rag: RagSettings, top_k: int) -> Iterator[tuple[Span, Context]]:
        """The ``retrieve <collection>`` span and its duration metric; yields the span and
        the context its inner ``embed`` call runs in."""
        span = self.tracer.start_span(
            f"retrieve {rag.collection}", context=call.trace_context, kind=SpanKind.INTERNAL
        )
        span.set_attributes(
            {
                "gen_ai.operation.name": "retrieval",
                "gen_ai.data_source.id": rag.collection,
                "gen_ai.request.top_k": top_k,
                "llmops.embedder": rag.embedder,
                "llmops.revision": call.revision,
            }
        )
        started = time.perf_counter()
        try:
            yield span, trace.set_span_in_context(span, call.trace_context)
        except BaseException as err:
            span.record_exception(err)
            span.set_status(trace.StatusCode.ERROR, type(err).__name__)
            raise
        finally:
            span.end()
            self.metrics.retrieval.labels(*call.labels(), rag.collection).observe(
                time.perf_counter() - started
            )

    def retrieved(self, call: Call, rag: RagSettings, scores: list[float]) -> None:
        """The best hit's similarity of one search (before ``min_score``); none: no hits."""
        if scores:
            self.metrics.retrieval_top_score.labels(*call.labels(), rag.collection).observe(
                max(scores)
            )

    # -- guardrails, ingestion, feedback ------------------------------------------------------
    def guardrail(self, call: Call, decision: Decision) -> None:
        """Log and count a guardrail decision (allow is neither)."""
        if decision.action == "allow":
            return
        call.decisions.append(decision)
        self.metrics.guardrail.labels(call.route, call.alias, decision.check, decision.action).inc()
        log.info(
            "guardrail %s: %s on %s (rules: %s)",
            decision.check,
            decision.action,
            call.alias,
            ",".join(decision.rules),
        )

    def ingested(self, collection: str, upserted: int, removed: int) -> None:
        self.metrics.ingested_chunks.labels(collection, "upserted").inc(upserted)
        self.metrics.ingested_chunks.labels(collection, "removed").inc(removed)

    def rated(self, served: ServedResponse, rating: str) -> None:
        self.metrics.feedback.labels(served.alias, served.revision, rating).inc()
