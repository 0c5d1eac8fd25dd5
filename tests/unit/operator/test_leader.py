"""Leader election's metrics: two electors share one in-memory Lease (with the API server's
optimistic concurrency); each step is one election round of one replica."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from kubernetes.client.exceptions import ApiException
from prometheus_client import REGISTRY

from llmops_operator.core.leader.lease import LeadershipChange, leadership_change
from llmops_operator.leader import LeaderElector
from llmops_operator.settings import OperatorSettings


class FakeLeases:
    """One Lease as the coordination API keeps it: writes need the last resourceVersion."""

    def __init__(self) -> None:
        self.lease: Any = None
        self.version = 0

    def read_namespaced_lease(self, name: str, namespace: str) -> Any:
        if self.lease is None:
            raise ApiException(status=404)
        return self.lease

    def create_namespaced_lease(self, namespace: str, body: dict[str, Any]) -> None:
        if self.lease is not None:
            raise ApiException(status=409)
        self._store(body["spec"])

    def replace_namespaced_lease(self, name: str, namespace: str, body: dict[str, Any]) -> None:
        if body["metadata"]["resourceVersion"] != self.lease.metadata.resource_version:
            raise ApiException(status=409)
        self._store(body["spec"])

    def patch_namespaced_lease(self, name: str, namespace: str, body: dict[str, Any]) -> None:
        self.replace_namespaced_lease(name, namespace, body)

    def age(self, seconds: float) -> None:
        """The holder has not renewed for ``seconds`` (it hangs, or its node is gone)."""
        self.lease.spec.renew_time -= timedelta(seconds=seconds)

    def _store(self, spec: dict[str, Any]) -> None:
        self.version += 1

        def when(key: str) -> datetime | None:
            return datetime.fromisoformat(spec[key]) if spec.get(key) else None

        self.lease = SimpleNamespace(
            metadata=SimpleNamespace(resource_version=str(self.version)),
            spec=SimpleNamespace(
                holder_identity=spec.get("holderIdentity"),
                lease_duration_seconds=spec["leaseDurationSeconds"],
                renew_time=when("renewTime"),
                acquire_time=when("acquireTime"),
                lease_transitions=spec["leaseTransitions"],
            ),
        )


class Replica(LeaderElector):
    def __init__(self, leases: FakeLeases) -> None:
        # A fresh identity per test: the metrics live in the process-wide registry.
        identity = f"op-{uuid.uuid4().hex[:8]}"
        super().__init__(OperatorSettings(leader_election=True, pod_name=identity))
        self.leases = leases

    def _api(self) -> Any:
        return self.leases

    def leader_metric(self) -> float | None:
        return REGISTRY.get_sample_value("llmops_operator_leader", {"identity": self.identity})

    def changes(self, change: str) -> float | None:
        labels = {"identity": self.identity, "change": change}
        return REGISTRY.get_sample_value("llmops_operator_leader_transitions_total", labels)


def test_leadership_changes_only_when_the_replicas_view_flips() -> None:
    assert leadership_change(False, True) is LeadershipChange.ACQUIRED
    assert leadership_change(True, False) is LeadershipChange.LOST
    assert leadership_change(True, True) is None
    assert leadership_change(False, False) is None


def test_leader_gauge_follows_the_lease_through_a_release_and_counts_each_change() -> None:
    leases = FakeLeases()
    a, b = Replica(leases), Replica(leases)

    # before any round: both export 0 and zero counts (a standby is visible from the start)
    assert (a.leader_metric(), b.leader_metric(), a.changes("acquired")) == (0, 0, 0)

    # a creates the Lease: it leads
    a.try_once()
    assert (a.leader_metric(), a.changes("acquired")) == (1, 1)

    # b finds a fresh Lease held by a: it stands by, nothing changes for it
    b.try_once()
    assert (b.leader_metric(), b.changes("acquired"), b.changes("lost")) == (0, 0, 0)

    # a renews: still one acquisition
    a.try_once()
    assert (a.leader_metric(), a.changes("acquired")) == (1, 1)

    # a shuts down and releases the Lease; b takes it in its next round
    a.stop()
    assert (a.leader_metric(), a.changes("lost")) == (0, 1)
    b.try_once()
    assert (b.leader_metric(), b.changes("acquired")) == (1, 1)


def test_a_leader_taken_over_after_a_missed_lease_counts_one_loss() -> None:
    leases = FakeLeases()
    a, b = Replica(leases), Replica(leases)
    a.try_once()

    # a stops renewing for longer than the lease duration: b takes the expired Lease
    leases.age(a.settings.lease_duration_s + 1)
    b.try_once()
    assert b.leader_metric() == 1

    # a's next round finds b's fresh Lease: it stops acting
    a.try_once()
    assert (a.is_leader, a.leader_metric(), a.changes("lost")) == (False, 0, 1)
