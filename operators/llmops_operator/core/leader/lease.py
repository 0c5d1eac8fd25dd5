"""Leader election over a coordination.k8s.io Lease: client-go's rules as pure functions.

One Lease per operator release (the chart grants ``create`` and ``get/update/patch`` on that
one name). Every ``retry_period`` each replica reads it and `decide_lease` says what to do:
renew it (ours), take it (free, released, or not renewed for ``leaseDurationSeconds``), or
stand by (someone else's and fresh). Writes are replaces with the read ``resourceVersion``,
so two replicas racing for an expired Lease cannot both win. A leader that has not renewed
for ``renew_deadline`` (shorter than the lease duration) stops acting before anyone else may
take over; a leader that shuts down releases the Lease so a standby takes over at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class LeaseMove(StrEnum):
    RENEW = "Renew"  # ours: push renewTime forward
    TAKE = "Take"  # free, released or expired: become the leader (one more transition)
    STAND_BY = "StandBy"  # another replica holds a fresh Lease: do not act


class LeadershipChange(StrEnum):
    """A replica's own view changing (the metric label of `leadership_change`)."""

    ACQUIRED = "acquired"
    LOST = "lost"  # not renewed in time, taken over, or released on shutdown


def leadership_change(was_leader: bool, is_leader: bool) -> LeadershipChange | None:
    if was_leader == is_leader:
        return None
    return LeadershipChange.ACQUIRED if is_leader else LeadershipChange.LOST


@dataclass(frozen=True)
class LeaseRecord:
    """The Lease's spec as read (``holderIdentity`` empty when released)."""

    holder: str | None
    renew_time: datetime | None
    duration_s: int
    transitions: int = 0
    acquire_time: datetime | None = None


def is_lease_expired(record: LeaseRecord, now: datetime) -> bool:
    if not record.holder or record.renew_time is None:
        return True
    return now >= record.renew_time + timedelta(seconds=record.duration_s)


def decide_lease(record: LeaseRecord, identity: str, now: datetime) -> LeaseMove:
    if record.holder == identity:
        return LeaseMove.RENEW
    return LeaseMove.TAKE if is_lease_expired(record, now) else LeaseMove.STAND_BY


def _micro_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # the API's MicroTime, always UTC


def build_lease_spec(
    record: LeaseRecord | None, identity: str, now: datetime, duration_s: int
) -> dict[str, Any]:
    """The spec a replica writes to renew or take the Lease."""
    if record is not None and record.holder == identity and record.acquire_time is not None:
        acquired, transitions = record.acquire_time, record.transitions
    else:
        acquired = now
        transitions = 0 if record is None else record.transitions + 1
    return {
        "holderIdentity": identity,
        "leaseDurationSeconds": duration_s,
        "acquireTime": _micro_time(acquired),
        "renewTime": _micro_time(now),
        "leaseTransitions": transitions,
    }


def build_released_spec(record: LeaseRecord, now: datetime) -> dict[str, Any]:
    """What a leader shutting down writes: no holder, so a standby takes over at once."""
    return {
        "holderIdentity": None,
        "leaseDurationSeconds": 1,
        "renewTime": _micro_time(now),
        "leaseTransitions": record.transitions,
    }
