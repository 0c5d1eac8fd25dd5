"""Server-sent events as OpenAI streams them: ``data: {...}\\n\\n`` ... ``data: [DONE]``.

`SseDecoder` turns arbitrary byte chunks (split anywhere, even inside a UTF-8 character)
into whole events, so the gateway can read each streamed completion chunk for metrics
while passing the bytes through unchanged.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from typing import Any

DONE = "[DONE]"


@dataclass(frozen=True)
class SseEvent:
    """One event: its ``data`` lines joined with newlines, and its ``event`` name if any."""

    data: str
    event: str = ""

    @property
    def is_done(self) -> bool:
        return self.data.strip() == DONE

    def json(self) -> dict[str, Any] | None:
        """The data as a JSON object, or None for ``[DONE]``, comments and non-objects."""
        if self.is_done:
            return None
        try:
            value = json.loads(self.data)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


class SseDecoder:
    """Incremental decoder; call `feed` with each chunk, then `flush` at the end."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._data: list[str] = []
        self._event = ""

    def feed(self, chunk: bytes) -> list[SseEvent]:
        self._buffer += self._utf8.decode(chunk)
        events: list[SseEvent] = []
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                return events
            line, self._buffer = self._buffer[: cut[0]], self._buffer[cut[1] :]
            event = self._take_line(line)
            if event is not None:
                events.append(event)

    def flush(self) -> list[SseEvent]:
        """Events still buffered when the stream ended without a final blank line."""
        self._buffer += self._utf8.decode(b"", final=True)
        events = self.feed(b"\n") if self._buffer else []
        if self._data:
            events.append(self._emit())
        return events

    def _take_line(self, line: str) -> SseEvent | None:
        if line == "":
            return self._emit() if self._data else None
        if line.startswith(":"):
            return None  # comment (keep-alive)
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        return None

    def _emit(self) -> SseEvent:
        event = SseEvent(data="\n".join(self._data), event=self._event)
        self._data, self._event = [], ""
        return event


def _line_end(buffer: str) -> tuple[int, int] | None:
    """(end of line, start of next) for the first CRLF, LF or CR; None if incomplete."""
    lf = buffer.find("\n")
    cr = buffer.find("\r")
    if cr == -1 or (lf != -1 and lf < cr):
        return None if lf == -1 else (lf, lf + 1)
    if cr + 1 == len(buffer):
        return None  # might be the CR of a CRLF split across chunks
    return cr, cr + 2 if buffer[cr + 1] == "\n" else cr + 1


def encode_event(payload: dict[str, Any] | str) -> bytes:
    """One ``data:`` event; a dict is JSON-encoded compactly, a string sent as is."""
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {data}\n\n".encode()
