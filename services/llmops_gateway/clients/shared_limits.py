"""Per-key limiter state in Redis, shared by every gateway replica.

Each key's `KeyUsage` (its request and token buckets and the tokens it ever used) is one
JSON value at ``llmops:usage:<key id>``. A change is an optimistic transaction: WATCH, read,
apply the pure change (`domain.keys.check_request` or `record_tokens`), MULTI/SET/EXEC, and
again if another replica wrote in between. So the limits of the keys file hold for the
whole fleet, not per replica, with one algorithm (the domain's) and no script in Redis.

Time is wall-clock seconds (`time.time()`): replicas share no monotonic clock. A store that
does not answer makes admission fail closed with 503 ``limit_store_unavailable``: a limit
that silently stopped holding would be worse than a refused request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import redis.asyncio as redis
from redis.exceptions import RedisError, WatchError

from llmops_gateway.domain.errors import UnavailableError
from llmops_gateway.domain.keys import KeyUsage, TokenBucket

PREFIX = "llmops:usage:"
_ATTEMPTS = 100  # optimistic retries under contention (each a loopback round trip or three)

T = TypeVar("T")


def encode_usage(usage: KeyUsage) -> str:
    def bucket(value: TokenBucket | None) -> list[float] | None:
        return None if value is None else [value.capacity, value.level, value.updated]

    return json.dumps(
        {
            "requests": bucket(usage.requests),
            "tokens": bucket(usage.tokens),
            "tokens_used": usage.tokens_used,
        }
    )


def decode_usage(raw: bytes | str | None) -> KeyUsage:
    if raw is None:
        return KeyUsage()
    data: dict[str, Any] = json.loads(raw)

    def bucket(value: list[float] | None) -> TokenBucket | None:
        return None if value is None else TokenBucket(*value)

    return KeyUsage(
        requests=bucket(data.get("requests")),
        tokens=bucket(data.get("tokens")),
        tokens_used=int(data.get("tokens_used", 0)),
    )


class SharedUsage:
    """`KeyUsage` per key id in Redis (``url``: ``redis://host:6379/0``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    async def update(self, key_id: str, change: Callable[[KeyUsage], T]) -> T:
        """Apply ``change`` to the key's usage atomically across replicas; an exception from
        ``change`` (a refusal) writes nothing and propagates."""
        name = PREFIX + key_id
        try:
            for _ in range(_ATTEMPTS):
                async with self._redis.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(name)
                        usage = decode_usage(await pipe.get(name))
                        result = change(usage)
                        pipe.multi()  # type: ignore[no-untyped-call]
                        pipe.set(name, encode_usage(usage))
                        await pipe.execute()
                        return result
                    except WatchError:
                        continue  # another replica wrote first: read again
        except RedisError as err:
            raise self._unavailable(err) from err
        raise UnavailableError(
            f"The limit store {self.url} is too contended for key {key_id!r}; retry.",
            code="limit_store_unavailable",
            retry_after_s=1,
        )

    async def get(self, key_id: str) -> KeyUsage:
        try:
            return decode_usage(await self._redis.get(PREFIX + key_id))
        except RedisError as err:
            raise self._unavailable(err) from err

    async def aclose(self) -> None:
        await self._redis.aclose()

    def _unavailable(self, err: Exception) -> UnavailableError:
        return UnavailableError(
            f"The limit store {self.url} does not answer ({type(err).__name__}); API-key "
            "limits cannot be checked, so requests are refused until it is back.",
            code="limit_store_unavailable",
            retry_after_s=5,
        )
