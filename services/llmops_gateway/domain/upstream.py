"""The request sent to one backend (pure): the client's body, adapted to the backend.

Per backend because a fallback may differ: a ``chat: completion`` backend gets a chat
request rendered as a completion prompt (`domain.prompts`), and RAG backends of different
revisions may retrieve differently. The gateway always asks for usage in streams (it needs
the tokens for metrics and budgets) and strips it again when the client did not ask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmops_contracts.routing import Backend
from llmops_gateway.domain.compat import chat_to_completion_request
from llmops_gateway.domain.prompts import CHAT_STOP, merge_stop, render_chat_prompt

# Fields of the gateway's own API that never reach a backend.
_GATEWAY_FIELDS = ("rag_filter",)


@dataclass(frozen=True)
class Prepared:
    """The upstream request for one backend (RAG may differ per backend revision)."""

    path: str
    body: dict[str, Any]
    convert_chat: bool = False  # completion backend answering a chat request
    citations: list[dict[str, Any]] | None = None
    strip_usage: bool = False  # client did not ask for stream usage; the gateway did


def wants_stream_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options") or {}
    return bool(options.get("include_usage"))


def with_stream_usage(body: dict[str, Any]) -> dict[str, Any]:
    """Ask the backend for usage in streams: the gateway needs it for metrics and budgets."""
    if not body.get("stream"):
        return body
    return {**body, "stream_options": {**(body.get("stream_options") or {}), "include_usage": True}}


def build_completion_call(backend: Backend, body: dict[str, Any]) -> Prepared:
    strip = bool(body.get("stream")) and not wants_stream_usage(body)
    return Prepared(
        "/completions", with_stream_usage({**body, "model": backend.model}), strip_usage=strip
    )


def build_embeddings_call(backend: Backend, body: dict[str, Any]) -> Prepared:
    return Prepared("/embeddings", {**body, "model": backend.model})


def build_chat_call(
    backend: Backend,
    body: dict[str, Any],
    messages: list[dict[str, Any]],
    *,
    stop: Sequence[str] = (),
) -> Prepared:
    """The upstream chat request for a backend, rendered as a completion when it has no
    chat template (``chat: completion``). ``stop`` is added to the client's own stop
    sequences (RAG prompts stop where the model would invent a next passage)."""
    strip = bool(body.get("stream")) and not wants_stream_usage(body)
    upstream = {key: value for key, value in body.items() if key not in _GATEWAY_FIELDS}
    upstream = with_stream_usage({**upstream, "messages": messages, "model": backend.model})
    if stop:
        upstream["stop"] = merge_stop(upstream.get("stop"), stop)
    if backend.chat == "completion":
        prompt = render_chat_prompt(messages)
        request = chat_to_completion_request(upstream, prompt, backend.model, CHAT_STOP)
        return Prepared("/completions", request, convert_chat=True, strip_usage=strip)
    return Prepared("/chat/completions", upstream, strip_usage=strip)
