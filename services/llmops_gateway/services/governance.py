"""Who is calling and what they may still do: keys, limits, and per-team usage counters.

State kept in memory by this process: limiter buckets per key, and tokens in/out and
request counts per team (exported as metrics and by ``GET /v1/usage``). With several
gateway replicas each enforces its share; limits are per replica (documented trade-off:
no shared store on the request path).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from llmops_gateway.clients.routing_file import decode_document
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

    @classmethod
    def from_file(cls, path: Path | None) -> Governance:
        if path is None:
            return cls(records=None)
        return cls(records=parse_keys(decode_document(path.read_bytes(), path.name)))

    @property
    def enabled(self) -> bool:
        return self.records is not None

    def authenticate(self, authorization: str | None) -> Caller:
        if self.records is None:
            return Caller(key_id=ANONYMOUS_TEAM, team=ANONYMOUS_TEAM)
        record = authenticate(self.records, authorization, datetime.now(UTC))
        return Caller(key_id=record.id, team=record.team, record=record)

    def admit(self, caller: Caller, alias: str) -> None:
        """Raise `ForbiddenError` or `RateLimitedError`, or take one request from the allowance."""
        if caller.record is not None:
            check_request(caller.record, self.usage_by_key[caller.key_id], alias, time.monotonic())
        self.usage_by_team[caller.team].requests += 1

    def record(self, caller: Caller, prompt_tokens: int, completion_tokens: int) -> None:
        team = self.usage_by_team[caller.team]
        team.prompt_tokens += prompt_tokens
        team.completion_tokens += completion_tokens
        if caller.record is not None:
            record_tokens(
                self.usage_by_key[caller.key_id],
                prompt_tokens + completion_tokens,
                time.monotonic(),
            )

    def usage_report(self, caller: Caller) -> list[TeamUsageReport]:
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
