"""Lease-based leader election for the operator's replicas (rules: `core.leader.lease`).

Every replica runs kopf (so each answers its liveness probe and keeps its watch caches warm);
only the one holding the Lease acts: handlers ask `LeaderElector.is_leader` first. A thread
tries the Lease every ``retry_period_s``; see `core.leader.lease` for why two replicas never act at
once. The chart grants exactly what this uses: ``create`` leases, and ``get``/``update`` on
the one Lease named ``lease_name`` in ``lease_namespace``.

Metrics: ``llmops_operator_leader{identity}`` is 1 while this replica acts, 0 while it stands
by; ``llmops_operator_leader_transitions_total{identity,change}`` counts each change
(``acquired`` / ``lost``), so "no replica leads" and "leadership flaps" are both visible.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime
from typing import Any

import kubernetes
from kubernetes.client.exceptions import ApiException

from llmops_operator import metrics
from llmops_operator.core.leader.lease import (
    LeadershipChange,
    LeaseMove,
    LeaseRecord,
    build_lease_spec,
    build_released_spec,
    decide_lease,
    leadership_change,
)
from llmops_operator.settings import OperatorSettings

log = logging.getLogger(__name__)


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def record_of(lease: Any) -> LeaseRecord:
    spec = lease.spec
    return LeaseRecord(
        holder=spec.holder_identity or None,
        renew_time=_utc(spec.renew_time),
        duration_s=int(spec.lease_duration_seconds or 0),
        transitions=int(spec.lease_transitions or 0),
        acquire_time=_utc(spec.acquire_time),
    )


class LeaderElector:
    def __init__(self, settings: OperatorSettings) -> None:
        self.settings = settings
        self.identity = settings.pod_name or f"{socket.gethostname()}-{os.getpid()}"
        self.holder: str | None = None  # who holds the Lease, as last read
        self._leading = threading.Event()
        self._stop = threading.Event()
        self._renewed_at = 0.0  # time.monotonic() of our last successful write
        self._announced = False  # "stands by" is logged once, not every retry
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)
        # Export 0 and zero counts from the start: a standby is visible, and rate() works.
        metrics.LEADER.labels(self.identity).set(0)
        for change in LeadershipChange:
            metrics.LEADER_TRANSITIONS.labels(self.identity, change.value)

    @property
    def is_leader(self) -> bool:
        return self._leading.is_set()

    def start(self) -> None:
        self.try_once()  # a lone replica acts from its first tick
        self._thread.start()

    def stop(self) -> None:
        """Stop trying; a leader releases the Lease so a standby takes over at once."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.settings.retry_period_s + 5)
        if self.is_leader:
            self._set_leading(False)
            self._release()

    def _run(self) -> None:
        while not self._stop.wait(self.settings.retry_period_s):
            try:
                self.try_once()
            except Exception:  # a broken read must not kill the election thread
                log.exception("leader election: trying the Lease failed")
                self._check_deadline()

    def _api(self) -> Any:
        return kubernetes.client.CoordinationV1Api()

    def try_once(self) -> None:
        s = self.settings
        now = datetime.now(UTC)
        try:
            lease = self._api().read_namespaced_lease(s.lease_name, s.lease_namespace)
        except ApiException as err:
            if err.status != 404:
                raise
            self._write(None, None, now)
            return
        record = record_of(lease)
        self.holder = record.holder
        move = decide_lease(record, self.identity, now)
        if move is LeaseMove.STAND_BY:
            self._lose(f"the Lease is held by {record.holder}")
            return
        self._write(record, lease.metadata.resource_version, now)

    def _write(self, record: LeaseRecord | None, version: str | None, now: datetime) -> None:
        s = self.settings
        metadata: dict[str, str] = {"name": s.lease_name, "namespace": s.lease_namespace}
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": build_lease_spec(record, self.identity, now, s.lease_duration_s),
        }
        try:
            if version is None:
                self._api().create_namespaced_lease(s.lease_namespace, body)
            else:
                metadata["resourceVersion"] = version  # lose a race, never overwrite the winner
                self._api().replace_namespaced_lease(s.lease_name, s.lease_namespace, body)
        except ApiException as err:
            if err.status not in (409, 422):
                raise
            self._check_deadline()  # another replica wrote first; read again next round
            return
        self._renewed_at = time.monotonic()
        self.holder = self.identity
        if not self.is_leader:
            log.info("leader election: %s is now the leader", self.identity)
            self._set_leading(True)

    def _check_deadline(self) -> None:
        if self.is_leader and time.monotonic() - self._renewed_at > self.settings.renew_deadline_s:
            self._lose("the Lease could not be renewed within the renew deadline")

    def _lose(self, why: str) -> None:
        if self.is_leader:
            log.warning("leader election: %s stops acting: %s", self.identity, why)
            self._set_leading(False)
        elif not self._announced:
            log.info("leader election: %s stands by: %s", self.identity, why)
        self._announced = True

    def _set_leading(self, leading: bool) -> None:
        """The one place leadership changes: the flag handlers read, and the metrics."""
        change = leadership_change(self.is_leader, leading)
        if leading:
            self._leading.set()
        else:
            self._leading.clear()
        metrics.LEADER.labels(self.identity).set(1 if leading else 0)
        if change is not None:
            metrics.LEADER_TRANSITIONS.labels(self.identity, change.value).inc()

    def _release(self) -> None:
        s = self.settings
        try:
            lease = self._api().read_namespaced_lease(s.lease_name, s.lease_namespace)
            if lease.spec.holder_identity != self.identity:
                return
            spec = build_released_spec(record_of(lease), datetime.now(UTC))
            body = {"metadata": {"resourceVersion": lease.metadata.resource_version}, "spec": spec}
            self._api().patch_namespaced_lease(s.lease_name, s.lease_namespace, body)
            log.info("leader election: %s released the Lease", self.identity)
        except ApiException:
            log.exception("leader election: releasing the Lease failed (it will expire)")
