"""The stream relay under the ``redact`` output policy: PII never leaves in a streamed answer,
whatever the token boundaries, and the decision is recorded."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast

import anyio
import httpx
from opentelemetry import context, trace

from llmops_contracts.routing import Backend
from llmops_gateway.clients.upstream import PhaseTimeouts
from llmops_gateway.domain.guardrails import Decision, Policy
from llmops_gateway.domain.results import Reshaped, StreamEvent
from llmops_gateway.domain.upstream import Prepared
from llmops_gateway.routers.render import encode_stream_event
from llmops_gateway.services.accounting import Accounting
from llmops_gateway.services.context import Call
from llmops_gateway.services.governance import Caller
from llmops_gateway.services.guards import GuardPolicies, Guards
from llmops_gateway.services.streaming import _Relay

PIECES = ["Write to ali", "ce@exam", "ple.com or 4111 ", "1111 1111 ", "1111", " today."]


class RecordingAccounting:
    """Only what the relay calls; guardrail decisions kept for the assertions."""

    def __init__(self) -> None:
        self.decisions: list[Decision] = []

    def guardrail(self, call: Call, decision: Decision) -> None:
        self.decisions.append(decision)

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def sse(payload: dict[str, Any] | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {data}\n\n".encode()


def chat_chunks(finish_last: bool) -> list[bytes]:
    chunks = [
        sse(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "choices": [
                    {
                        "index": 0,
                        "delta": {"content": piece},
                        "finish_reason": "stop" if finish_last and n == len(PIECES) - 1 else None,
                    }
                ],
            }
        )
        for n, piece in enumerate(PIECES)
    ]
    return [*chunks, sse("[DONE]")]


def relay_text(policy: Policy, chunks: list[bytes]) -> tuple[str, list[Decision]]:
    accounting = RecordingAccounting()
    policies = GuardPolicies("off", "off", "off", policy, 10_000, 100)
    guards = Guards(policies, cast(Accounting, accounting))
    call = Call("chat", "chat", Caller("k", "t"), {}, context.Context())
    relay = _Relay(
        call,
        backend=Backend(name="b", url="http://b/v1", model="m"),
        prepared=Prepared(path="/chat/completions", body={}),
        span=trace.INVALID_SPAN,
        accounting=cast(Accounting, accounting),
        guards=guards,
        timeouts=PhaseTimeouts(connect=1, first_token=1, total=5),
    )

    async def rest() -> AsyncIterator[bytes]:
        for chunk in chunks[1:]:
            yield chunk

    async def run() -> list[StreamEvent]:
        return [
            event async for event in relay.run(chunks[0], rest(), httpx.Response(200, content=b""))
        ]

    events = anyio.run(run)
    wire = b"".join(encode_stream_event(event) for event in events).decode()
    text = ""
    for event in events:
        if isinstance(event, Reshaped) and isinstance(event.payload, dict):
            for choice in event.payload["choices"]:
                text += choice["delta"].get("content") or ""
    assert "alice" not in wire and "4111" not in wire
    return text, accounting.decisions


def test_should_redact_pii_split_across_streamed_tokens() -> None:
    text, decisions = relay_text("redact", chat_chunks(finish_last=True))

    assert text == "Write to [REDACTED_EMAIL] or [REDACTED_CREDIT_CARD] today."
    assert [(d.action, d.rules) for d in decisions] == [("redact", ("credit_card", "email"))]


def test_should_send_the_held_back_rest_when_the_stream_ends_without_a_finish_reason() -> None:
    text, _ = relay_text("redact", chat_chunks(finish_last=False))

    assert text == "Write to [REDACTED_EMAIL] or [REDACTED_CREDIT_CARD] today."
