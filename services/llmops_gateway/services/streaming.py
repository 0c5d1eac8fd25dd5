"""Relaying a streamed (SSE) answer from a backend, as an async iterator of stream events.

The first chunk is awaited before the stream is handed back, so a backend that produces
nothing within the first-token timeout gets a proper 504 (not a 200 that dies). After that,
bytes pass through unchanged (`Relayed`) unless the answer must be reshaped (a chat request
served by a completion backend, citations, usage the client did not ask for, PII to redact
under the ``redact`` output policy: `Reshaped`);
every event is still decoded on the side for time to first token, inter-token latency and
usage.

Cancellation contract: when the client disconnects, the router closes the iterator
(``aclose``) or its task is cancelled; the relay's ``finally`` closes the upstream response
(shielded from the cancellation), which closes its connection, and vLLM aborts the request
(its running-request gauge drops).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
from opentelemetry import trace
from opentelemetry.trace import Span

from llmops_contracts.routing import Backend
from llmops_gateway.clients.upstream import PhaseTimeouts
from llmops_gateway.domain.compat import completion_chunk_to_chat_chunk
from llmops_gateway.domain.errors import UpstreamError, UpstreamTimeoutError
from llmops_gateway.domain.guardrails import StreamRedactor
from llmops_gateway.domain.results import (
    Relayed,
    Reshaped,
    Served,
    Stream,
    StreamEvent,
    StreamFailed,
)
from llmops_gateway.domain.sse import SseDecoder, SseEvent
from llmops_gateway.domain.upstream import Prepared
from llmops_gateway.services.accounting import Accounting
from llmops_gateway.services.context import Call
from llmops_gateway.services.guards import Guards


async def _next_chunk(chunks: AsyncIterator[bytes], wait_s: float) -> bytes | None:
    """The next raw chunk within ``wait_s`` seconds; None at the end of the stream."""
    with anyio.fail_after(max(wait_s, 0.001)):
        try:
            return await anext(chunks)
        except StopAsyncIteration:
            return None


async def open_stream(
    call: Call,
    backend: Backend,
    prepared: Prepared,
    response: httpx.Response,
    span: Span,
    *,
    served: Served,
    accounting: Accounting,
    guards: Guards,
    timeouts: PhaseTimeouts,
) -> Stream:
    """Wait for the first chunk (first-token deadline), then hand over the rest."""
    chunks = response.aiter_bytes()
    try:
        first = await _next_chunk(chunks, timeouts.first_token)
    except BaseException as err:
        with anyio.CancelScope(shield=True):
            await response.aclose()
        span.set_status(trace.StatusCode.ERROR, type(err).__name__)
        span.end()
        if isinstance(err, TimeoutError):
            raise UpstreamTimeoutError(
                f"Backend {backend.name} sent no token within {timeouts.first_token:g} s.",
                code="first_token_timeout",
            ) from err
        if isinstance(err, httpx.HTTPError):
            raise UpstreamError(f"Backend {backend.name} broke off the stream.") from err
        raise
    relay = _Relay(
        call,
        backend=backend,
        prepared=prepared,
        span=span,
        accounting=accounting,
        guards=guards,
        timeouts=timeouts,
    )
    return Stream(served=served, events=relay.run(first, chunks, response))


class _Relay:
    """Per-stream state: decoder, timings, usage, the reshaping to apply."""

    def __init__(
        self,
        call: Call,
        *,
        backend: Backend,
        prepared: Prepared,
        span: Span,
        accounting: Accounting,
        guards: Guards,
        timeouts: PhaseTimeouts,
    ) -> None:
        self.call = call
        self.backend = backend
        self.prepared = prepared
        self.span = span
        self.accounting = accounting
        self.guards = guards
        self.timeouts = timeouts
        self.decoder = SseDecoder()
        # One redactor per choice index; None when the output policy does not redact.
        self.redactors: dict[int, StreamRedactor] | None = (
            {} if guards.policies.pii_output == "redact" else None
        )
        self.rewrite = (
            prepared.convert_chat
            or prepared.strip_usage
            or bool(prepared.citations)
            or self.redactors is not None
        )
        self.sent_events = 0
        self.last_token_at: float | None = None
        self.usage: dict[str, Any] | None = None
        self.response_id = ""
        self.text: list[str] = []
        self.refused = False  # a choice ended by the content filter, or carried a refusal
        self.chunk_object = "chat.completion.chunk"

    async def run(
        self, first: bytes | None, chunks: AsyncIterator[bytes], response: httpx.Response
    ) -> AsyncIterator[StreamEvent]:
        deadline = self.call.started + self.timeouts.total
        outcome = "cancelled"  # until the loop below ends by itself
        try:
            raw = first
            while raw is not None:
                for out in self._process(self.decoder.feed(raw), raw):
                    yield out
                remaining = deadline - time.perf_counter()
                raw = await _next_chunk(chunks, min(remaining, self.timeouts.first_token))
            for out in self._process(self.decoder.flush(), b""):
                yield out
            outcome = "ok"
        except TimeoutError:
            outcome = "upstream_timeout"
            yield StreamFailed("The backend stopped sending tokens in time.", outcome)
        except httpx.HTTPError:
            outcome = "upstream_error"
            yield StreamFailed(f"Backend {self.backend.name} broke off the stream.", outcome)
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()
            self._finish(outcome)

    def _process(self, events: list[SseEvent], raw: bytes) -> list[StreamEvent]:
        """Observe the events; return what to send for them."""
        out: list[StreamEvent] = []
        for event in events:
            payload = event.json()
            if payload is not None:
                self._observe(payload)
            if self.rewrite:
                out.extend(self._reshape(event, payload))
        if not self.rewrite and raw:
            out.append(Relayed(raw))
        return out

    def _observe(self, payload: dict[str, Any]) -> None:
        if payload.get("usage"):
            self.usage = payload["usage"]
        self.response_id = self.response_id or str(payload.get("id", ""))
        for choice in payload.get("choices", []):
            delta = choice.get("delta") or {}
            if choice.get("finish_reason") == "content_filter" or (
                isinstance(delta, dict) and delta.get("refusal")
            ):
                self.refused = True
        pieces = [
            choice.get("text") or (choice.get("delta") or {}).get("content") or ""
            for choice in payload.get("choices", [])
        ]
        if not any(pieces):
            return
        self.text.extend(pieces)
        now = time.perf_counter()
        if self.last_token_at is None:
            self.accounting.first_token(self.call, now)
        else:
            self.accounting.next_token(self.call, now - self.last_token_at)
        self.last_token_at = now

    def _reshape(self, event: SseEvent, payload: dict[str, Any] | None) -> list[StreamEvent]:
        if payload is None:
            return [*self._held_back(), Reshaped(event.data)]
        if self.prepared.strip_usage and payload.get("usage") is not None:
            if not payload.get("choices"):
                return []  # the usage-only chunk the client did not ask for
            payload = {key: value for key, value in payload.items() if key != "usage"}
        if self.prepared.convert_chat:
            payload = completion_chunk_to_chat_chunk(payload, first=self.sent_events == 0)
        if self.prepared.citations and self.sent_events == 0:
            payload["citations"] = self.prepared.citations
        if self.redactors is not None:
            self._redact_chunk(payload)
        self.sent_events += 1
        return [Reshaped(payload)]

    def _redact_chunk(self, payload: dict[str, Any]) -> None:
        """Replace each choice's text by what its redactor lets out; at the choice's
        ``finish_reason`` the held-back rest goes out with it."""
        assert self.redactors is not None
        self.chunk_object = str(payload.get("object", self.chunk_object))
        for choice in payload.get("choices", []):
            redactor = self.redactors.setdefault(int(choice.get("index", 0)), StreamRedactor())
            holder, key = (choice["delta"], "content") if "delta" in choice else (choice, "text")
            if not isinstance(holder, dict):
                continue
            piece = holder.get(key)
            text = redactor.feed(piece) if isinstance(piece, str) else ""
            if choice.get("finish_reason") is not None:
                text += redactor.flush()
            if isinstance(piece, str) or text:
                holder[key] = text

    def _held_back(self) -> list[StreamEvent]:
        """Text still held back when the stream ends without a ``finish_reason``: one last
        chunk before ``[DONE]``."""
        if not self.redactors:
            return []
        chat = self.chunk_object == "chat.completion.chunk"
        choices = []
        for index, redactor in sorted(self.redactors.items()):
            rest = redactor.flush()
            if rest:
                choices.append(
                    {"index": index, "delta": {"content": rest}, "finish_reason": None}
                    if chat
                    else {"index": index, "text": rest, "finish_reason": None}
                )
        if not choices:
            return []
        kind = "chat.completion.chunk" if chat else "text_completion"
        return [Reshaped({"id": self.response_id, "object": kind, "choices": choices})]

    def _finish(self, outcome: str) -> None:
        call, span = self.call, self.span
        self.accounting.usage(call, span, self.usage)
        span.set_attribute("gen_ai.response.id", self.response_id)
        redacted = (
            None
            if self.redactors is None
            else {rule for redactor in self.redactors.values() for rule in redactor.rules}
        )
        self.guards.check_streamed_output(call, "".join(self.text), redacted)
        if outcome == "ok":
            self.accounting.served(call, self.backend, self.response_id)
            self.accounting.answered(call, "".join(self.text), refused=self.refused)
        else:
            self.accounting.stream_broke(call, outcome, span)
        span.end()
