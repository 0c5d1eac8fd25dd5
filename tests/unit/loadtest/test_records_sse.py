"""Records survive the JSONL round trip; the SSE reader sees tokens and usage."""

from __future__ import annotations

from pathlib import Path

from llmops_loadtest.core.records import RequestRecord, compute_tpot_s, read_records
from llmops_loadtest.core.sse import SseDecoder, read_chunk
from tests.unit.loadtest.helpers import failed, ok


def test_records_round_trip_through_jsonl(tmp_path: Path) -> None:
    records = [ok(2.0), failed(1.0)]
    path = tmp_path / "w.jsonl"
    path.write_text("".join(record.to_json() + "\n" for record in records) + '{"kind": "compl')
    assert read_records([path]) == [records[1], records[0]]  # ordered by start, torn line skipped


def test_tpot_excludes_the_first_token() -> None:
    assert compute_tpot_s(e2e_s=1.1, ttft_s=0.1, output_tokens=11) == 0.1
    assert compute_tpot_s(e2e_s=1.0, ttft_s=0.1, output_tokens=1) is None


def test_decoder_waits_for_whole_lines() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b'data: {"a"') == []
    assert decoder.feed(b": 1}\r\n\r\ndata: [DONE]\n\n") == ['{"a": 1}', "[DONE]"]


def test_read_chunk_sees_completion_and_chat_tokens_and_usage() -> None:
    assert read_chunk('{"choices": [{"text": " hi"}]}').has_token
    assert read_chunk('{"choices": [{"delta": {"content": "hi"}}]}').has_token
    assert not read_chunk('{"choices": [{"delta": {"role": "assistant"}}]}').has_token
    usage = read_chunk('{"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}}')
    assert (usage.prompt_tokens, usage.completion_tokens) == (7, 3)
    assert read_chunk("not json").error
    assert "overloaded" in read_chunk('{"error": {"message": "overloaded"}}').error


def test_record_from_dict_accepts_missing_optionals() -> None:
    record = RequestRecord.from_dict(
        {"kind": "chat", "started_at": 1, "e2e_s": 0.5, "success": True}
    )
    assert record.itl_s == () and record.ttft_s is None
