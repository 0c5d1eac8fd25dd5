"""Sending one generation or embedding request to the backends of an alias.

Flow: the routing plan (`services.plan`) orders the alias's backends; each is tried in turn
while it is unreachable (connection refused or 503: nothing was processed, so trying the
next one is safe); the first backend that answers serves the request, streamed or not.
When none answers, the client gets 503 ``no_backend_available``. Backend errors after the
request was accepted are never retried (the backend may have done the work).

Deadlines (`PhaseTimeouts`, from the app factory): connect; first token (the read timeout
of a streamed request, and the wait for a stream's first chunk); total (a non-streamed
answer arrives only when the whole generation is done).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from opentelemetry import trace
from opentelemetry.trace import Span

from llmops_contracts.routing import Backend
from llmops_gateway.clients.upstream import (
    BackendHTTPError,
    BackendUnreachableError,
    HttpClients,
    PhaseTimeouts,
    open_response,
)
from llmops_gateway.domain.answers import answer_of
from llmops_gateway.domain.compat import completion_to_chat
from llmops_gateway.domain.errors import (
    BodyTooLargeError,
    GatewayError,
    InvalidRequestError,
    UnavailableError,
    UpstreamError,
    UpstreamTimeoutError,
)
from llmops_gateway.domain.results import Answer, Served, Stream
from llmops_gateway.domain.routing import BackendHealth, RoutingPlan
from llmops_gateway.domain.upstream import Prepared
from llmops_gateway.services.accounting import Accounting
from llmops_gateway.services.context import Call
from llmops_gateway.services.guards import Guards
from llmops_gateway.services.streaming import open_stream

Prepare = Callable[[Backend], Awaitable[Prepared]]


def _backend_failure(err: BackendHTTPError) -> GatewayError:
    """A backend's error status as the client should see it."""
    if err.status in (400, 422):
        return InvalidRequestError(err.message, code="upstream_invalid_request")
    if err.status == 413:
        return BodyTooLargeError(err.message)
    return UpstreamError(f"Backend {err.backend.name} failed: {err.message}")


def served_by(call: Call, backend: Backend) -> Served:
    return Served(
        backend=backend.name,
        revision=backend.revision,
        request_id=call.request_id,
        guardrails=call.guardrail_summaries(),
    )


@dataclass
class Sent:
    """A request accepted by one backend; the response body is not read yet."""

    backend: Backend
    prepared: Prepared
    response: httpx.Response
    span: Span


class Dispatcher:
    def __init__(
        self,
        *,
        http: HttpClients,
        health: BackendHealth,
        accounting: Accounting,
        guards: Guards,
        timeouts: PhaseTimeouts,
        down_cooldown_s: float,
    ) -> None:
        self._http = http
        self._health = health
        self._accounting = accounting
        self._guards = guards
        self.timeouts = timeouts
        self._cooldown_s = down_cooldown_s

    async def answer(self, call: Call, plan: RoutingPlan, prepare: Prepare) -> Answer:
        """A non-streamed answer from the first backend of the plan that takes it."""
        sent = await self.send(call, plan, prepare, stream=False)
        body = await self.finish_json(call, sent)
        return Answer(body, served_by(call, sent.backend))

    async def stream(self, call: Call, plan: RoutingPlan, prepare: Prepare) -> Stream:
        """A streamed answer, once its first chunk arrived (first-token deadline)."""
        sent = await self.send(call, plan, prepare, stream=True)
        return await open_stream(
            call,
            sent.backend,
            sent.prepared,
            sent.response,
            sent.span,
            served=served_by(call, sent.backend),
            accounting=self._accounting,
            guards=self._guards,
            timeouts=self.timeouts,
        )

    async def send(self, call: Call, plan: RoutingPlan, prepare: Prepare, *, stream: bool) -> Sent:
        """Try the plan's backends in order until one accepts the request."""
        accounting = self._accounting
        tried: list[str] = []
        for backend in plan.backends:
            prepared = await prepare(backend)
            call.revision = backend.revision
            span = accounting.start_span(call, backend, prepared.body)
            try:
                response = await open_response(
                    self._http.pick(),
                    backend,
                    prepared.path,
                    prepared.body,
                    accounting.upstream_headers(call, span),
                    stream=stream,
                    read_timeout_s=None if stream else self.timeouts.total,
                )
            except BackendUnreachableError as err:
                self._health.mark_down(backend.name, time.monotonic())
                accounting.fallback(call, backend)
                span.record_exception(err)
                span.set_status(trace.StatusCode.ERROR, err.reason)
                span.end()
                tried.append(f"{backend.name} ({err.reason})")
                continue
            except BackendHTTPError as err:
                span.set_status(trace.StatusCode.ERROR, err.message)
                span.end()
                raise _backend_failure(err) from err
            except GatewayError as err:
                span.set_status(trace.StatusCode.ERROR, err.message)
                span.end()
                raise
            self._health.mark_up(backend.name)
            return Sent(backend, prepared, response, span)
        raise UnavailableError(
            f"No backend of model `{call.alias}` is available; tried: {', '.join(tried)}.",
            retry_after_s=self._cooldown_s,
        )

    async def finish_json(self, call: Call, sent: Sent) -> dict[str, Any]:
        """Read a non-streamed answer within the total deadline; account for it."""
        backend, span = sent.backend, sent.span
        try:
            body = await self._read_json(sent)
        except GatewayError as err:
            span.set_status(trace.StatusCode.ERROR, err.message)
            span.end()
            raise
        if sent.prepared.convert_chat:
            body = completion_to_chat(body)
        if call.route != "embeddings":
            self._guards.redact_output(call, body)
        if sent.prepared.citations is not None:
            body["citations"] = sent.prepared.citations
        span.set_attribute("gen_ai.response.id", str(body.get("id", "")))
        span.set_attribute("gen_ai.response.model", str(body.get("model", "")))
        self._accounting.usage(call, span, body.get("usage"))
        span.end()
        self._accounting.served(call, backend, str(body.get("id", "")))
        if call.route != "embeddings":
            text, refused = answer_of(body)
            self._accounting.answered(call, text, refused=refused)
        return body

    async def _read_json(self, sent: Sent) -> dict[str, Any]:
        name = sent.backend.name
        try:
            with anyio.fail_after(self.timeouts.total):
                raw = await sent.response.aread()
        except (TimeoutError, httpx.TimeoutException) as err:
            raise UpstreamTimeoutError(f"Backend {name} did not finish in time.") from err
        except httpx.HTTPError as err:
            raise UpstreamError(f"Backend {name} broke off the response.") from err
        finally:
            with anyio.CancelScope(shield=True):
                await sent.response.aclose()
        try:
            body = json.loads(raw)
        except ValueError as err:
            raise UpstreamError(f"Backend {name} sent a body that is not JSON.") from err
        if not isinstance(body, dict):
            raise UpstreamError(f"Backend {name} sent JSON that is not an object.")
        return body
