"""API keys and their limits (pure): hashed storage, authentication, rate and budget checks.

Keys file (YAML or JSON), one entry per key; only the sha256 of a key is stored::

    keys:
      - id: search-team-prod
        team: search
        sha256: 6f1e...            # llmops gateway key create prints a key and its hash
        models: ["gemma", "rag"]    # "*" allows every alias
        rpm: 600                    # requests per minute (optional)
        tpm: 200000                 # tokens (in + out) per minute (optional)
        token_budget: 50000000      # total tokens ever (optional)
        expires_at: 2026-12-31T00:00:00Z   # optional

Rate limits are token buckets refilled continuously (a minute's allowance, at most): a
request needs one request token and a positive token balance; the tokens a response used
are debited afterwards (the balance may go negative, delaying the next request). Budgets
count tokens ever used in this gateway process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmops_gateway.domain.errors import ForbiddenError, RateLimitedError, UnauthenticatedError

KEY_PREFIX = "llmops-"


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key() -> str:
    """A fresh key; show it once, store only `hash_key` of it."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


class KeyRecord(BaseModel):
    """One stored key (never the key itself)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    team: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    models: tuple[str, ...] = ("*",)
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    token_budget: int | None = Field(default=None, ge=0)
    expires_at: datetime | None = None

    def allows_model(self, alias: str) -> bool:
        return "*" in self.models or alias in self.models


class KeyFileError(ValueError):
    """The keys file is invalid."""


def parse_keys(data: Any) -> dict[str, KeyRecord]:
    """The keys of a decoded keys file, by hash."""
    if not isinstance(data, Mapping) or not isinstance(data.get("keys"), list):
        raise KeyFileError("the keys file must be a mapping with a 'keys' list")
    records: dict[str, KeyRecord] = {}
    for position, entry in enumerate(data["keys"]):
        try:
            record = KeyRecord.model_validate(entry)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise KeyFileError(f"keys[{position}].{where}: {first['msg']}") from err
        records[record.sha256] = record
    return records


def find_key(records: Mapping[str, KeyRecord], digest: str) -> KeyRecord | None:
    """The record whose stored hash equals ``digest``, compared in constant time.

    Every record is compared (no early exit, no dict lookup on the secret's hash), so the
    time taken tells nothing about how close a guess came or which key matched.
    """
    found: KeyRecord | None = None
    for record in records.values():
        if hmac.compare_digest(record.sha256.encode(), digest.encode()):
            found = record
    return found


def authenticate(
    records: Mapping[str, KeyRecord], authorization: str | None, now: datetime
) -> KeyRecord:
    """The key record of an ``Authorization: Bearer <key>`` header, or `UnauthenticatedError`."""
    if not authorization:
        raise UnauthenticatedError(
            "Missing API key: send it as 'Authorization: Bearer <key>'.", code="missing_api_key"
        )
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise UnauthenticatedError("The Authorization header must be 'Bearer <key>'.")
    record = find_key(records, hash_key(secret.strip()))
    if record is None:
        raise UnauthenticatedError("Incorrect API key provided.")
    if record.expires_at is not None and record.expires_at <= now:
        raise UnauthenticatedError(f"API key {record.id!r} has expired.", code="expired_api_key")
    return record


@dataclass
class TokenBucket:
    """A balance refilled at ``capacity`` per minute, capped at ``capacity``."""

    capacity: float
    level: float
    updated: float  # monotonic seconds

    @classmethod
    def full(cls, capacity: float, now: float) -> TokenBucket:
        return cls(capacity=capacity, level=capacity, updated=now)

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.level = min(self.capacity, self.level + elapsed * self.capacity / 60.0)
        self.updated = now

    def seconds_until(self, amount: float) -> float:
        """Seconds until the balance reaches ``amount`` (0 when it already has)."""
        missing = amount - self.level
        return 0.0 if missing <= 0 else missing * 60.0 / self.capacity


@dataclass
class KeyUsage:
    """Per-key limiter state, kept in memory by the gateway."""

    requests: TokenBucket | None = None
    tokens: TokenBucket | None = None
    tokens_used: int = 0


def check_request(record: KeyRecord, usage: KeyUsage, alias: str, now: float) -> None:
    """Admit one request for ``alias`` or raise `ForbiddenError` / `RateLimitedError` (with retry).

    Admission takes one request token; nothing is taken when the request is refused.
    """
    if not record.allows_model(alias):
        raise ForbiddenError(f"API key {record.id!r} (team {record.team!r}) may not use {alias!r}.")
    if record.token_budget is not None and usage.tokens_used >= record.token_budget:
        raise RateLimitedError(
            f"Team {record.team!r} has used its token budget of {record.token_budget}.",
            code="insufficient_quota",
        )
    if record.rpm is not None:
        usage.requests = usage.requests or TokenBucket.full(record.rpm, now)
        usage.requests.refill(now)
        if usage.requests.level < 1:
            raise RateLimitedError(
                f"Rate limit of {record.rpm} requests per minute reached.",
                retry_after_s=usage.requests.seconds_until(1),
            )
    if record.tpm is not None:
        usage.tokens = usage.tokens or TokenBucket.full(record.tpm, now)
        usage.tokens.refill(now)
        if usage.tokens.level <= 0:
            raise RateLimitedError(
                f"Rate limit of {record.tpm} tokens per minute reached.",
                code="tokens_rate_limit_exceeded",
                retry_after_s=max(usage.tokens.seconds_until(1), 0.001),
            )
    if usage.requests is not None:
        usage.requests.level -= 1


def record_tokens(usage: KeyUsage, tokens: int, now: float) -> None:
    """Debit the tokens one response used (prompt + completion)."""
    usage.tokens_used += tokens
    if usage.tokens is not None:
        usage.tokens.refill(now)
        usage.tokens.level -= tokens
