"""Incremental parsing of OpenAI-style server-sent events (pure; fed by the users' sockets).

Each ``data:`` line is one event. A chunk "carries a token" when its first choice has
non-empty ``text`` (completions) or ``delta.content`` (chat); the final chunk may carry
``usage`` (``stream_options.include_usage``), the server's own token counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

DONE = "[DONE]"


class SseDecoder:
    """Bytes in, complete ``data:`` payloads out; partial lines wait for the next feed."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        payloads: list[str] = []
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                return payloads
            line = self._buffer[:newline].rstrip(b"\r")
            self._buffer = self._buffer[newline + 1 :]
            if line.startswith(b"data:"):
                payloads.append(line[5:].strip().decode("utf-8", errors="replace"))


@dataclass(frozen=True, slots=True)
class ChunkInfo:
    """What one event tells the user: whether it carried output text, and any usage."""

    has_token: bool
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str = ""


def read_chunk(payload: str) -> ChunkInfo:
    """Interpret one ``data:`` payload (not ``[DONE]``); a non-JSON payload is an error."""
    try:
        data: Any = json.loads(payload)
    except ValueError:
        return ChunkInfo(False, error=f"not JSON: {payload[:60]!r}")
    if not isinstance(data, dict):
        return ChunkInfo(False, error="event is not an object")
    if "error" in data:
        return ChunkInfo(False, error=str(data["error"])[:200])
    has_token = False
    choices = data.get("choices") or []
    if choices and isinstance(choices[0], dict):
        choice = choices[0]
        delta = choice.get("delta")
        text = choice.get("text")
        if text is None and isinstance(delta, dict):
            text = delta.get("content")
        has_token = bool(text)
    usage = data.get("usage")
    if isinstance(usage, dict):
        return ChunkInfo(
            has_token,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )
    return ChunkInfo(has_token)
