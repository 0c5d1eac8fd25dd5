"""Sending one generation or embedding request to the backends of an alias.

Flow of `dispatch`: the routing plan orders the alias's backends; each is tried in turn
while it is unreachable (connection refused or 503: nothing was processed, so trying the
next one is safe); the first backend that answers serves the request, streamed or not.
When none answers, the client gets 503 ``no_backend_available``. Backend errors after the
request was accepted are never retried (the backend may have done the work).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from fastapi.responses import JSONResponse, Response
from opentelemetry import trace
from opentelemetry.trace import Span

from llmops_contracts.routing import Backend
from llmops_gateway.calls import (
    Call,
    Prepare,
    Prepared,
    account,
    finish_ok,
    record_usage_on_span,
    redact_output,
    served_headers,
    start_span,
    upstream_headers,
)
from llmops_gateway.clients.upstream import BackendHTTPError, BackendUnreachableError, open_response
from llmops_gateway.domain.compat import completion_to_chat
from llmops_gateway.domain.errors import (
    BodyTooLargeError,
    GatewayError,
    InvalidRequestError,
    UnavailableError,
    UpstreamError,
    UpstreamTimeoutError,
)
from llmops_gateway.domain.routing import RoutingPlan
from llmops_gateway.streaming import start_stream


def _backend_failure(err: BackendHTTPError) -> GatewayError:
    """A backend's error status as the client should see it."""
    if err.status in (400, 422):
        return InvalidRequestError(err.message, code="upstream_invalid_request")
    if err.status == 413:
        return BodyTooLargeError(err.message)
    return UpstreamError(f"Backend {err.backend.name} failed: {err.message}")


@dataclass
class Sent:
    """A request accepted by one backend; the response body is not read yet."""

    backend: Backend
    prepared: Prepared
    response: httpx.Response
    span: Span


async def dispatch(call: Call, plan: RoutingPlan, prepare: Prepare, *, stream: bool) -> Response:
    """Serve the request from the first backend of the plan that takes it."""
    sent = await send(call, plan, prepare, stream=stream)
    if stream:
        return await start_stream(call, sent.backend, sent.prepared, sent.response, sent.span)
    body = await finish_json(call, sent)
    return JSONResponse(body, headers=served_headers(call, sent.backend))


async def send(call: Call, plan: RoutingPlan, prepare: Prepare, *, stream: bool) -> Sent:
    """Try the plan's backends in order until one accepts the request."""
    runtime = call.runtime
    tried: list[str] = []
    for backend in plan.backends:
        prepared = await prepare(backend)
        call.revision = backend.revision
        span = start_span(call, backend, prepared.body)
        try:
            response = await open_response(
                runtime.http.pick(),
                backend,
                prepared.path,
                prepared.body,
                upstream_headers(call, span),
                stream=stream,
                read_timeout_s=None if stream else runtime.settings.total_timeout_s,
            )
        except BackendUnreachableError as err:
            runtime.health.mark_down(backend.name, time.monotonic())
            runtime.metrics.fallbacks.labels(call.alias, backend.name).inc()
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
        runtime.health.mark_up(backend.name)
        return Sent(backend, prepared, response, span)
    raise UnavailableError(
        f"No backend of model `{call.alias}` is available; tried: {', '.join(tried)}.",
        retry_after_s=runtime.settings.backend_down_cooldown_s,
    )


async def finish_json(call: Call, sent: Sent) -> dict[str, Any]:
    """Read a non-streamed answer within the total deadline; account for it."""
    backend, span = sent.backend, sent.span
    try:
        body = await _read_json(call, sent)
    except GatewayError as err:
        span.set_status(trace.StatusCode.ERROR, err.message)
        span.end()
        raise
    if sent.prepared.convert_chat:
        body = completion_to_chat(body)
    if call.route != "embeddings":
        redact_output(call, body)
    if sent.prepared.citations is not None:
        body["citations"] = sent.prepared.citations
    usage = body.get("usage")
    span.set_attribute("gen_ai.response.id", str(body.get("id", "")))
    span.set_attribute("gen_ai.response.model", str(body.get("model", "")))
    record_usage_on_span(span, usage)
    span.end()
    account(call, usage)
    finish_ok(call, backend, str(body.get("id", "")))
    return body


async def _read_json(call: Call, sent: Sent) -> dict[str, Any]:
    name = sent.backend.name
    try:
        with anyio.fail_after(call.runtime.settings.total_timeout_s):
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
