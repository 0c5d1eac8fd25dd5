"""Relaying a streamed (SSE) answer from a backend to the client.

The gateway reads the first chunk before answering, so a backend that produces nothing
within the first-token timeout gets a proper 504 (not a 200 that dies). After that, bytes
pass through unchanged unless the answer must be reshaped (a chat request served by a
completion backend, citations, usage the client did not ask for); every event is still
decoded on the side for time to first token, inter-token latency and usage.

Cancellation contract: when the client disconnects, Starlette cancels the response; the
relay's ``finally`` closes the upstream response (shielded from the cancellation), which
closes its connection, and vLLM aborts the request (its running-request gauge drops).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
from fastapi.responses import Response, StreamingResponse
from opentelemetry import trace
from opentelemetry.trace import Span
from starlette.types import Receive, Scope, Send

from llmops_contracts.routing import Backend
from llmops_gateway.calls import (
    Call,
    Prepared,
    account,
    finish_ok,
    record_usage_on_span,
    served_headers,
)
from llmops_gateway.domain.compat import completion_chunk_to_chat_chunk
from llmops_gateway.domain.errors import UpstreamError, UpstreamTimeoutError
from llmops_gateway.domain.guardrails import screen_pii
from llmops_gateway.domain.sse import SseDecoder, SseEvent, encode_event


class CancellableStreamingResponse(StreamingResponse):
    """A streaming response whose body iterator is always closed, even when the client
    went away while the iterator was suspended (Starlette only cancels the sending task)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            closer = getattr(self.body_iterator, "aclose", None)
            if closer is not None:
                with anyio.CancelScope(shield=True):
                    await closer()


async def _next_chunk(chunks: AsyncIterator[bytes], wait_s: float) -> bytes | None:
    """The next raw chunk within ``wait_s`` seconds; None at the end of the stream."""
    with anyio.fail_after(max(wait_s, 0.001)):
        try:
            return await anext(chunks)
        except StopAsyncIteration:
            return None


async def start_stream(
    call: Call, backend: Backend, prepared: Prepared, response: httpx.Response, span: Span
) -> Response:
    """Wait for the first chunk (first-token deadline), then stream the rest."""
    settings = call.runtime.settings
    chunks = response.aiter_bytes()
    try:
        first = await _next_chunk(chunks, settings.first_token_timeout_s)
    except BaseException as err:
        with anyio.CancelScope(shield=True):
            await response.aclose()
        span.set_status(trace.StatusCode.ERROR, type(err).__name__)
        span.end()
        if isinstance(err, TimeoutError):
            raise UpstreamTimeoutError(
                f"Backend {backend.name} sent no token within "
                f"{settings.first_token_timeout_s:g} s.",
                code="first_token_timeout",
            ) from err
        if isinstance(err, httpx.HTTPError):
            raise UpstreamError(f"Backend {backend.name} broke off the stream.") from err
        raise
    relay = _Relay(call, backend, prepared, span)
    headers = {**served_headers(call, backend), "cache-control": "no-cache"}
    return CancellableStreamingResponse(
        relay.run(first, chunks, response), media_type="text/event-stream", headers=headers
    )


class _Relay:
    """Per-stream state: decoder, timings, usage, the reshaping to apply."""

    def __init__(self, call: Call, backend: Backend, prepared: Prepared, span: Span) -> None:
        self.call = call
        self.backend = backend
        self.prepared = prepared
        self.span = span
        self.decoder = SseDecoder()
        self.rewrite = prepared.convert_chat or prepared.strip_usage or bool(prepared.citations)
        self.sent_events = 0
        self.last_token_at: float | None = None
        self.usage: dict[str, Any] | None = None
        self.response_id = ""
        self.text: list[str] = []

    async def run(
        self, first: bytes | None, chunks: AsyncIterator[bytes], response: httpx.Response
    ) -> AsyncIterator[bytes]:
        settings = self.call.runtime.settings
        deadline = self.call.started + settings.total_timeout_s
        outcome = "cancelled"  # until the loop below ends by itself
        try:
            raw = first
            while raw is not None:
                for out in self._process(self.decoder.feed(raw), raw):
                    yield out
                remaining = deadline - time.perf_counter()
                raw = await _next_chunk(chunks, min(remaining, settings.first_token_timeout_s))
            for out in self._process(self.decoder.flush(), b""):
                yield out
            outcome = "ok"
        except TimeoutError:
            outcome = "upstream_timeout"
            yield _error_event("The backend stopped sending tokens in time.", outcome)
        except httpx.HTTPError:
            outcome = "upstream_error"
            yield _error_event(f"Backend {self.backend.name} broke off the stream.", outcome)
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()
            self._finish(outcome)

    def _process(self, events: list[SseEvent], raw: bytes) -> list[bytes]:
        """Observe the events; return the bytes to send for them."""
        out: list[bytes] = []
        for event in events:
            payload = event.json()
            if payload is not None:
                self._observe(payload)
            if self.rewrite:
                out.extend(self._reshape(event, payload))
        if not self.rewrite and raw:
            out.append(raw)
        return out

    def _observe(self, payload: dict[str, Any]) -> None:
        if payload.get("usage"):
            self.usage = payload["usage"]
        self.response_id = self.response_id or str(payload.get("id", ""))
        pieces = [
            choice.get("text") or (choice.get("delta") or {}).get("content") or ""
            for choice in payload.get("choices", [])
        ]
        if not any(pieces):
            return
        self.text.extend(pieces)
        now = time.perf_counter()
        metrics = self.call.runtime.metrics
        if self.last_token_at is None:
            metrics.ttft.labels(*self.call.labels()).observe(now - self.call.started)
        else:
            metrics.itl.labels(*self.call.labels()).observe(now - self.last_token_at)
        self.last_token_at = now

    def _reshape(self, event: SseEvent, payload: dict[str, Any] | None) -> list[bytes]:
        if payload is None:
            return [encode_event(event.data)]
        if self.prepared.strip_usage and payload.get("usage") is not None:
            if not payload.get("choices"):
                return []  # the usage-only chunk the client did not ask for
            payload = {key: value for key, value in payload.items() if key != "usage"}
        if self.prepared.convert_chat:
            payload = completion_chunk_to_chat_chunk(payload, first=self.sent_events == 0)
        if self.prepared.citations and self.sent_events == 0:
            payload["citations"] = self.prepared.citations
        self.sent_events += 1
        return [encode_event(payload)]

    def _finish(self, outcome: str) -> None:
        call, span = self.call, self.span
        record_usage_on_span(span, self.usage)
        span.set_attribute("gen_ai.response.id", self.response_id)
        account(call, self.usage)
        if call.runtime.settings.guard_pii_output != "off":
            # Streamed text has left already: PII in it can only be flagged, not redacted.
            _, decision = screen_pii("".join(self.text), "flag", "pii_output")
            call.runtime.record_decision(call.route, call.alias, decision)
        if outcome == "ok":
            finish_ok(call, self.backend, self.response_id)
        else:
            status = "499" if outcome == "cancelled" else "502"
            call.runtime.metrics.requests.labels(*call.labels(), status).inc()
            call.runtime.metrics.errors.labels(*call.labels(), outcome).inc()
            span.set_status(trace.StatusCode.ERROR, outcome)
        span.end()


def _error_event(message: str, code: str) -> bytes:
    """An error after the 200 was sent: OpenAI clients raise on an ``error`` event."""
    return encode_event(
        {"error": {"message": message, "type": "api_error", "param": None, "code": code}}
    )
