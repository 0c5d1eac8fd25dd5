"""SSE decoding: events survive any split of the byte stream."""

from __future__ import annotations

import pytest

from llmops_gateway.domain.sse import SseDecoder, encode_event

STREAM = (
    b'data: {"id":"1","choices":[{"text":"h\xc3\xa9"}]}\n\n'
    b": keep-alive\n\n"
    b"event: note\r\ndata: line one\r\ndata: line two\r\n\r\n"
    b"data: [DONE]\n\n"
)


def decode_all(chunks: list[bytes]) -> list[tuple[str, str]]:
    decoder = SseDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)] + decoder.flush()
    return [(event.event, event.data) for event in events]


EXPECTED = [
    ("", '{"id":"1","choices":[{"text":"hé"}]}'),
    ("note", "line one\nline two"),
    ("", "[DONE]"),
]


def test_should_decode_a_whole_stream() -> None:
    assert decode_all([STREAM]) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 7, 16])
def test_should_decode_the_same_events_whatever_the_chunk_size(size: int) -> None:
    chunks = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]

    assert decode_all(chunks) == EXPECTED


def test_should_emit_a_last_event_without_a_trailing_blank_line() -> None:
    assert decode_all([b"data: tail"]) == [("", "tail")]


def test_should_expose_json_payloads_and_done() -> None:
    decoder = SseDecoder()
    first, done = decoder.feed(b'data: {"a": 1}\n\ndata: [DONE]\n\n')

    assert first.json() == {"a": 1}
    assert done.is_done and done.json() is None


def test_should_encode_a_compact_data_event() -> None:
    assert encode_event({"a": [1, 2]}) == b'data: {"a":[1,2]}\n\n'
    assert encode_event("[DONE]") == b"data: [DONE]\n\n"
