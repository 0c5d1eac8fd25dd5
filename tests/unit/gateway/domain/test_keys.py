"""API keys: hashed storage, 401/403/429 decisions, request and token buckets, budgets."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

import pytest

from llmops_gateway.domain.errors import (
    ForbiddenError,
    RateLimitedError,
    UnauthenticatedError,
)
from llmops_gateway.domain.keys import (
    KeyFileError,
    KeyRecord,
    KeyUsage,
    authenticate,
    check_request,
    hash_key,
    new_api_key,
    parse_keys,
    record_tokens,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SECRET = "llmops-test-secret"


def record(**overrides: object) -> KeyRecord:
    data: dict[str, object] = {
        "id": "k1",
        "team": "search",
        "sha256": hash_key(SECRET),
        "models": ["chat"],
    }
    data.update(overrides)
    return KeyRecord.model_validate(data)


def test_should_store_and_match_only_the_hash() -> None:
    key = new_api_key()
    stored = record(sha256=hash_key(key))

    assert key.startswith("llmops-") and key not in stored.model_dump_json()
    assert authenticate({stored.sha256: stored}, f"Bearer {key}", NOW) == stored


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_api_key"),
        ("Basic abc", "invalid_api_key"),
        ("Bearer wrong", "invalid_api_key"),
        ("Bearer ", "invalid_api_key"),
    ],
)
def test_should_refuse_a_missing_or_wrong_key(header: str | None, code: str) -> None:
    stored = record()

    with pytest.raises(UnauthenticatedError) as err:
        authenticate({stored.sha256: stored}, header, NOW)

    assert err.value.code == code and err.value.status == 401


def test_should_refuse_an_expired_key() -> None:
    stored = record(expires_at=NOW - timedelta(seconds=1))

    with pytest.raises(UnauthenticatedError) as err:
        authenticate({stored.sha256: stored}, f"Bearer {SECRET}", NOW)

    assert err.value.code == "expired_api_key"


def test_should_forbid_a_model_the_key_may_not_use() -> None:
    with pytest.raises(ForbiddenError) as err:
        check_request(record(), KeyUsage(), "other", now=0)

    assert err.value.status == 403
    check_request(record(models=["*"]), KeyUsage(), "other", now=0)


def test_should_allow_rpm_requests_then_refuse_with_a_retry_after() -> None:
    usage = KeyUsage()
    key = record(rpm=3)
    for _ in range(3):
        check_request(key, usage, "chat", now=10.0)

    with pytest.raises(RateLimitedError) as err:
        check_request(key, usage, "chat", now=10.0)

    assert err.value.status == 429
    assert err.value.retry_after_header == "20"  # one request refills in 60/3 s
    check_request(key, usage, "chat", now=30.0)  # refilled


def test_should_not_spend_allowance_on_refused_requests() -> None:
    usage = KeyUsage()
    key = record(rpm=1)
    check_request(key, usage, "chat", now=0.0)
    for _ in range(5):
        with pytest.raises(RateLimitedError):
            check_request(key, usage, "chat", now=0.0)

    check_request(key, usage, "chat", now=60.0)


def test_should_refuse_when_the_tokens_per_minute_are_spent() -> None:
    usage = KeyUsage()
    key = record(tpm=1000)
    check_request(key, usage, "chat", now=0.0)
    record_tokens(usage, 1500, now=0.0)  # one big answer overdraws the bucket

    with pytest.raises(RateLimitedError) as err:
        check_request(key, usage, "chat", now=1.0)

    assert err.value.code == "tokens_rate_limit_exceeded"
    assert 29 <= float(err.value.retry_after_s or 0) <= 31  # 500+1 tokens at 1000/min
    check_request(key, usage, "chat", now=32.0)


def test_should_refuse_when_the_token_budget_is_used_up() -> None:
    usage = KeyUsage()
    key = record(token_budget=100)
    record_tokens(usage, 100, now=0.0)

    with pytest.raises(RateLimitedError) as err:
        check_request(key, usage, "chat", now=0.0)

    assert err.value.code == "insufficient_quota"
    assert err.value.retry_after_s is None


def test_should_parse_a_keys_file_and_name_the_bad_entry() -> None:
    good = {"id": "a", "team": "t", "sha256": "0" * 64}

    assert list(parse_keys({"keys": [good]})) == ["0" * 64]
    with pytest.raises(KeyFileError, match=r"keys\[1\]\.sha256"):
        parse_keys({"keys": [good, {"id": "b", "team": "t", "sha256": "not-a-hash"}]})
    with pytest.raises(KeyFileError, match="'keys' list"):
        parse_keys({"key": []})


def test_should_compare_every_stored_hash_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    first = record(id="k0", sha256=hash_key(SECRET))
    others = [record(id=f"k{n}", sha256=hash_key(f"other-{n}")) for n in range(1, 4)]
    records = {r.sha256: r for r in [first, *others]}

    assert authenticate(records, f"Bearer {SECRET}", NOW) == first
    # The match was the first record, yet every record was compared: no early exit.
    assert len(calls) == 4
