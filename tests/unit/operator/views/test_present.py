"""`kubectl llmops status`: per-revision autoscalers as the cluster holds them (pure views)."""

from __future__ import annotations

from typing import Any

from llmops_operator.core.manifests.autoscalers import build_autoscaler_spec
from llmops_operator.core.rollout.scaling import AutoscalerBounds
from llmops_operator.core.spec.schema import AutoscalingSpec
from llmops_operator.core.state.status import RolloutStatus
from llmops_operator.views.status_text import (
    AutoscalersSeen,
    AutoscalerView,
    autoscaler_lines,
    build_autoscaler_views,
    merge_patch_to,
    status_text,
)
from tests.unit.operator.sim import make_spec

HPA = AutoscalingSpec(min_replicas=2, max_replicas=8)
KEDA = AutoscalingSpec(kind="keda", prometheus_address="http://prometheus:9090")
STATUS = RolloutStatus(
    stable_revision="1", stable_hash="aaaa1111", canary_revision="2", canary_hash="bbbb2222"
)


def listed(body: dict[str, Any], **status: int) -> dict[str, Any]:
    """An object as a list call returns it: no ``kind``, a status once a controller saw it."""
    item = {k: v for k, v in body.items() if k != "kind"}
    return {**item, "status": status} if status else item


def hpa(revision_hash: str, low: int, high: int, **status: int) -> dict[str, Any]:
    body = build_autoscaler_spec("chat", revision_hash, "ns", HPA, AutoscalerBounds(low, high))
    return listed(body, **status)


def test_should_show_each_revisions_hpa_bounds_and_replicas_stable_first() -> None:
    views = build_autoscaler_views(
        [hpa("bbbb2222", 1, 2), hpa("aaaa1111", 2, 8, currentReplicas=5, desiredReplicas=6)], []
    )
    spec = make_spec(engine={"autoscaling": {"minReplicas": 2, "maxReplicas": 8}})

    assert autoscaler_lines(spec, STATUS, AutoscalersSeen(views)) == [
        "Autoscalers (hpa, full size 2..8):",
        "  stable    1 (aaaa1111)  HPA          min..max 2..8    replicas 5 current / 6 desired",
        "  candidate 2 (bbbb2222)  HPA          min..max 1..2    replicas - current / - desired",
    ]


def test_should_take_a_scaled_objects_replicas_from_the_hpa_keda_runs_for_it() -> None:
    scaled = build_autoscaler_spec("chat", "aaaa1111", "ns", KEDA, AutoscalerBounds(1, 4))
    keda_hpa = hpa("aaaa1111", 1, 4, currentReplicas=3, desiredReplicas=4)  # labels copied
    keda_hpa["metadata"] = {
        **keda_hpa["metadata"],
        "name": "keda-hpa-chat-aaaa1111",
        "ownerReferences": [{"kind": "ScaledObject", "name": "chat-aaaa1111"}],
    }

    views = build_autoscaler_views([keda_hpa], [scaled])

    assert views == (AutoscalerView("aaaa1111", "ScaledObject", AutoscalerBounds(1, 4), 3, 4),)


def test_should_name_the_revision_kept_for_undo_and_leave_out_unlabelled_objects() -> None:
    status = STATUS.model_copy(update={"canary_hash": None, "scale_down_hash": "cccc3333"})
    foreign = hpa("dddd4444", 1, 2)
    del foreign["metadata"]["labels"]
    views = build_autoscaler_views([hpa("cccc3333", 2, 8), foreign], [])
    spec = make_spec(engine={"autoscaling": {"minReplicas": 2, "maxReplicas": 8}})

    lines = autoscaler_lines(spec, status, AutoscalersSeen(views))

    assert len(lines) == 2 and lines[1].startswith("  previous  - (cccc3333)  HPA")


def test_should_say_why_autoscalers_are_missing_and_nothing_without_autoscaling() -> None:
    spec = make_spec(engine={"autoscaling": {"minReplicas": 2, "maxReplicas": 8}})

    forbidden = AutoscalersSeen(problem="scaledobjects: Forbidden")

    assert autoscaler_lines(spec, STATUS, AutoscalersSeen())[1] == (
        "  none yet (one per revision, made by the operator)"
    )
    assert (
        autoscaler_lines(spec, STATUS, forbidden)[1] == "  not readable: scaledobjects: Forbidden"
    )
    assert "Autoscalers" not in status_text("chat", make_spec(), STATUS, AutoscalersSeen())


def test_should_place_autoscalers_before_the_conditions_in_status() -> None:
    spec = make_spec(engine={"autoscaling": {"minReplicas": 2, "maxReplicas": 8}})
    seen = AutoscalersSeen(build_autoscaler_views([hpa("aaaa1111", 2, 8)], []))

    text = status_text("chat", spec, STATUS, seen)

    assert text.index("Autoscalers (hpa") < text.index("Conditions:")
    assert "stable    1 (aaaa1111)  HPA          min..max 2..8" in text


def test_should_build_a_merge_patch_that_removes_what_the_target_lacks() -> None:
    current = {"nodeSelector": {"pool": "a100", "zone": "b"}, "runtimeClassName": "nvidia"}
    target = {"nodeSelector": {"pool": "l4"}, "probes": {"periodSeconds": 10}}

    patch = merge_patch_to(current, target)

    assert patch == {
        "nodeSelector": {"pool": "l4", "zone": None},
        "runtimeClassName": None,
        "probes": {"periodSeconds": 10},
    }
