"""Autoscaler manifests, the autoscaling spec, Lease decisions and the image's kopf flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from llmops_operator.core.leader.lease import (
    LeaseMove,
    LeaseRecord,
    build_lease_spec,
    build_released_spec,
    decide_lease,
)
from llmops_operator.core.manifests.autoscalers import (
    bounds_of,
    build_autoscaler_spec,
    is_foreign_autoscaler,
)
from llmops_operator.core.rollout.scaling import AutoscalerBounds
from llmops_operator.core.spec.schema import AutoscalingSpec, SpecError, template_hash, template_of
from llmops_operator.run import build_kopf_args
from llmops_operator.settings import OperatorSettings
from tests.unit.operator.sim import make_spec

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_hpa_targets_its_own_revision_and_scales_on_queue_depth() -> None:
    hpa = build_autoscaler_spec(
        "chat", "abcd1234", "ns", AutoscalingSpec(target_queue_depth=2.5), AutoscalerBounds(1, 3)
    )

    assert hpa["kind"] == "HorizontalPodAutoscaler"
    assert hpa["metadata"]["name"] == "chat-abcd1234"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "chat-abcd1234"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 3)
    metric = hpa["spec"]["metrics"][0]["pods"]
    assert metric["metric"]["name"] == "vllm_num_requests_waiting"
    assert metric["target"]["averageValue"] == "2.5"
    assert bounds_of(hpa) == AutoscalerBounds(1, 3)


def test_scaled_object_queries_only_its_revisions_pods() -> None:
    autoscaling = AutoscalingSpec(kind="keda", prometheus_address="http://prom:9090")
    scaled = build_autoscaler_spec("chat", "abcd1234", "ns", autoscaling, AutoscalerBounds(2, 4))
    trigger = scaled["spec"]["triggers"][0]["metadata"]

    assert scaled["kind"] == "ScaledObject"
    assert 'pod=~"chat-abcd1234-.*"' in trigger["query"]
    assert 'namespace="ns"' in trigger["query"]
    assert bounds_of(scaled) == AutoscalerBounds(2, 4)


def hpa_targeting(target: str, **metadata: Any) -> dict[str, Any]:
    return {
        "metadata": metadata,
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": target}},
    }


def test_only_hpas_this_operator_or_its_scaled_objects_made_are_not_foreign() -> None:
    ours = hpa_targeting("chat-1", labels={"llmops.dev/modeldeployment": "chat"})
    kedas = hpa_targeting("chat-1", ownerReferences=[{"kind": "ScaledObject", "name": "chat-1"}])
    someone = hpa_targeting("chat-1", labels={"team": "a"})

    assert is_foreign_autoscaler(ours, "chat") is None
    assert is_foreign_autoscaler(kedas, "chat") is None
    assert is_foreign_autoscaler(someone, "chat") == "chat-1"


def test_autoscaling_changes_no_revision_hash() -> None:
    plain = make_spec()
    scaled = make_spec(engine={"replicas": 2, "loadBudgetSeconds": 60, "autoscaling": {}})

    assert template_hash(template_of(plain)) == template_hash(template_of(scaled))


@pytest.mark.parametrize(
    ("autoscaling", "field"),
    [({"minReplicas": 3, "maxReplicas": 2}, "maxReplicas"), ({"kind": "keda"}, "prometheus")],
)
def test_autoscaling_spec_rejects_impossible_bounds_and_keda_without_prometheus(
    autoscaling: dict[str, Any], field: str
) -> None:
    with pytest.raises(SpecError, match=field):
        make_spec(engine={"autoscaling": autoscaling})


def record(holder: str | None, renewed_ago: float, transitions: int = 3) -> LeaseRecord:
    return LeaseRecord(holder, NOW - timedelta(seconds=renewed_ago), 15, transitions, NOW)


def test_a_replica_renews_its_lease_takes_an_expired_one_and_stands_by_otherwise() -> None:
    assert decide_lease(record("a", 1), "a", NOW) is LeaseMove.RENEW
    assert decide_lease(record("b", 1), "a", NOW) is LeaseMove.STAND_BY
    assert decide_lease(record("b", 15), "a", NOW) is LeaseMove.TAKE
    assert decide_lease(record(None, 1), "a", NOW) is LeaseMove.TAKE  # released


def test_taking_a_lease_counts_a_transition_and_renewing_keeps_acquire_time() -> None:
    taken = build_lease_spec(record("b", 20), "a", NOW, 15)
    renewed = build_lease_spec(record("a", 1), "a", NOW + timedelta(seconds=5), 15)

    assert (taken["holderIdentity"], taken["leaseTransitions"]) == ("a", 4)
    assert renewed["leaseTransitions"] == 3
    assert renewed["acquireTime"] == "2026-01-01T12:00:00.000000Z"
    assert renewed["renewTime"] == "2026-01-01T12:00:05.000000Z"
    assert build_released_spec(record("a", 1), NOW)["holderIdentity"] is None


def test_kopf_is_started_standalone_with_liveness_and_the_watched_namespaces() -> None:
    namespaced = OperatorSettings(namespaces="team-a, team-b", health_port=8081)
    clusterwide = OperatorSettings(log_level="DEBUG")

    assert build_kopf_args(namespaced) == [
        "run",
        "--standalone",
        "-m",
        "llmops_operator.main",
        "--liveness=http://127.0.0.1:8081/healthz",
        "-n",
        "team-a",
        "-n",
        "team-b",
    ]
    assert build_kopf_args(clusterwide)[-2:] == ["--all-namespaces", "--debug"]


def test_settings_refuse_a_renew_deadline_as_long_as_the_lease() -> None:
    with pytest.raises(ValueError, match="renew_deadline_s"):
        OperatorSettings(lease_duration_s=5, renew_deadline_s=5)
