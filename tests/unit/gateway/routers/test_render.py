"""Rendering domain results: SSE bytes from stream events, and the served headers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio

from llmops_gateway.domain.results import (
    Relayed,
    Reshaped,
    Served,
    StreamEvent,
    StreamFailed,
)
from llmops_gateway.routers.render import encode_stream_event, served_headers, sse_bytes


def test_should_forward_relayed_bytes_unchanged_and_encode_the_rest() -> None:
    assert encode_stream_event(Relayed(b'data: {"a":1}\n\n')) == b'data: {"a":1}\n\n'
    assert encode_stream_event(Reshaped({"b": 2})) == b'data: {"b":2}\n\n'
    assert encode_stream_event(Reshaped("[DONE]")) == b"data: [DONE]\n\n"
    assert encode_stream_event(StreamFailed("gone", "upstream_error")) == (
        b'data: {"error":{"message":"gone","type":"api_error","param":null,'
        b'"code":"upstream_error"}}\n\n'
    )


def test_should_say_which_backend_served() -> None:
    headers = served_headers(Served(backend="gemma-canary", revision="canary", request_id="r1"))

    assert headers == {
        "x-llmops-revision": "canary",
        "x-llmops-backend": "gemma-canary",
        "x-request-id": "r1",
    }


def test_should_tell_the_client_which_guardrails_acted() -> None:
    served = Served(
        backend="b",
        revision="stable",
        request_id="r1",
        guardrails=("injection=flag(ignore_instructions)", "pii_input=redact(email)"),
    )

    assert served_headers(served)["x-llmops-guardrail"] == (
        "injection=flag(ignore_instructions), pii_input=redact(email)"
    )


def test_should_close_the_services_stream_when_the_client_goes_away() -> None:
    closed: list[bool] = []

    async def events() -> AsyncIterator[StreamEvent]:
        try:
            while True:
                yield Relayed(b"data: x\n\n")
        finally:
            closed.append(True)  # the relay closes its upstream response here

    async def main() -> None:
        body = sse_bytes(events())
        assert await anext(body) == b"data: x\n\n"
        await body.aclose()  # what the streaming response does on a disconnect

    anyio.run(main)

    assert closed == [True]
