"""The limiter state as stored in Redis reads back as it was written."""

from __future__ import annotations

from llmops_gateway.clients.shared_limits import decode_usage, encode_usage
from llmops_gateway.domain.keys import KeyUsage, TokenBucket


def test_should_read_back_buckets_and_tokens_used() -> None:
    usage = KeyUsage(
        requests=TokenBucket(capacity=600, level=12.5, updated=1_800_000_000.25),
        tokens=TokenBucket(capacity=200_000, level=-40, updated=1_800_000_001.0),
        tokens_used=123_456,
    )

    assert decode_usage(encode_usage(usage)) == usage


def test_should_start_a_key_never_seen_with_empty_usage() -> None:
    assert decode_usage(None) == KeyUsage()
    assert decode_usage(encode_usage(KeyUsage())) == KeyUsage()
