"""Who is calling and what they may still do: keys, limits, and per-team usage counters.

Limiter state per key (request and token buckets, tokens ever used) lives in this process's
memory, or, with ``limits_redis_url`` set, in Redis (`clients.shared_limits`), so that rpm,
tpm and token budgets hold across every gateway replica instead of per replica. Team
counters (metrics and ``GET /v1/usage`` requests and tokens) stay per process; the key's
``tokens_used`` in ``/v1/usage`` comes from the shared store when there is one.

With a shared store, admission is one Redis transaction on the request path; the tokens a
response used are debited after it, in the background (as in memory, the next request sees
them once recorded).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from llmops_gateway.clients.routing_file import decode_document
from llmops_gateway.clients.shared_limits import SharedUsage
from llmops_gateway.domain.keys import (
    KeyRecord,
    KeyUsage,
    authenticate,
    check_request,
    parse_keys,
    record_tokens,
)
from llmops_gateway.domain.results import TeamUsageReport

ANONYMOUS_TEAM = "anonymous"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """The authenticated caller (``record`` is None when authentication is off)."""

    key_id: str
    team: str
    record: KeyRecord | None = None


@dataclass
class TeamUsage:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Governance:
    """Authentication, admission and accounting."""

    records: dict[str, KeyRecord] | None  # None: authentication off
    usage_by_key: dict[str, KeyUsage] = field(default_factory=lambda: defaultdict(KeyUsage))
    usage_by_team: dict[str, TeamUsage] = field(default_factory=lambda: defaultdict(TeamUsage))
    shared: SharedUsage | None = None  # limiter state in Redis, shared by the replicas
    _debits: set[asyncio.Task[None]] = field(default_factory=set)

    @classmethod
    def from_file(cls, path: Path | None, shared: SharedUsage | None = None) -> Governance:
        if path is None:
            return cls(records=None, shared=shared)
        records = parse_keys(decode_document(path.read_bytes(), path.name))
        return cls(records=records, shared=shared)

    @property
    def enabled(self) -> bool:
        return self.records is not None

    def authenticate(self, authorization: str | None) -> Caller:
        if self.records is None:
            return Caller(key_id=ANONYMOUS_TEAM, team=ANONYMOUS_TEAM)
        record = authenticate(self.records, authorization, datetime.now(UTC))
        return Caller(key_id=record.id, team=record.team, record=record)

    async def admit(self, caller: Caller, alias: str) -> None:
        """Raise `ForbiddenError` or `RateLimitedError`, or take one request from the allowance."""
        record = caller.record
        if record is not None and self.shared is not None:
            await self.shared.update(
                caller.key_id, lambda usage: check_request(record, usage, alias, time.time())
            )
        elif record is not None:
            check_request(record, self.usage_by_key[caller.key_id], alias, time.monotonic())
        self.usage_by_team[caller.team].requests += 1

    def record(self, caller: Caller, prompt_tokens: int, completion_tokens: int) -> None:
        team = self.usage_by_team[caller.team]
        team.prompt_tokens += prompt_tokens
        team.completion_tokens += completion_tokens
        tokens = prompt_tokens + completion_tokens
        if caller.record is None:
            return
        if self.shared is None:
            record_tokens(self.usage_by_key[caller.key_id], tokens, time.monotonic())
            return
        # Called where the answer is already out (a stream's end): debit in the background.
        task = asyncio.get_running_loop().create_task(self._debit(caller.key_id, tokens))
        self._debits.add(task)
        task.add_done_callback(self._debits.discard)

    async def _debit(self, key_id: str, tokens: int) -> None:
        assert self.shared is not None
        try:
            await self.shared.update(
                key_id, lambda usage: record_tokens(usage, tokens, time.time())
            )
        except Exception:  # a lost debit must not take the stream's task down with it
            log.exception("could not debit %d tokens of key %r in the limit store", tokens, key_id)

    async def drain(self) -> None:
        """Wait for the debits still being written (tests, shutdown)."""
        while self._debits:
            await asyncio.gather(*self._debits, return_exceptions=True)

    async def usage_report(self, caller: Caller) -> list[TeamUsageReport]:
        """The caller's team (all teams when authentication is off)."""
        teams = (
            self.usage_by_team
            if self.records is None
            else {caller.team: self.usage_by_team[caller.team]}
        )
        data = []
        for name, usage in sorted(teams.items()):
            key = None
            if caller.record is not None and name == caller.team:
                budget = caller.record.token_budget
                if self.shared is not None:
                    await self.drain()
                    used = (await self.shared.get(caller.key_id)).tokens_used
                else:
                    used = self.usage_by_key[caller.key_id].tokens_used
                key = {"id": caller.key_id, "tokens_used": used, "token_budget": budget}
            data.append(
                TeamUsageReport(
                    team=name,
                    requests=usage.requests,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    key=key,
                )
            )
        return data
