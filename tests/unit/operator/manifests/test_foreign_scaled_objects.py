"""A KEDA ScaledObject someone else put on a revision: found from the ScaledObject itself."""

from __future__ import annotations

from typing import Any

from llmops_operator.core.manifests.autoscalers import is_foreign_scaled_object, is_made_by_keda


def scaled_object_targeting(ref: dict[str, str], **metadata: Any) -> dict[str, Any]:
    return {"metadata": metadata, "spec": {"scaleTargetRef": ref}}


def test_should_name_the_deployment_a_scaled_object_of_someone_else_targets() -> None:
    # KEDA's default target kind is a Deployment, so a bare name counts.
    bare = scaled_object_targeting({"name": "chat-1"}, labels={"team": "a"})
    explicit = scaled_object_targeting(
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "chat-1"}
    )

    assert is_foreign_scaled_object(bare, "chat") == "chat-1"
    assert is_foreign_scaled_object(explicit, "chat") == "chat-1"


def test_should_not_count_the_operators_own_scaled_objects() -> None:
    ours = scaled_object_targeting(
        {"name": "chat-1"}, labels={"llmops.dev/modeldeployment": "chat"}
    )
    another_mds = scaled_object_targeting(
        {"name": "chat-1"}, labels={"llmops.dev/modeldeployment": "other"}
    )

    assert is_foreign_scaled_object(ours, "chat") is None
    assert is_foreign_scaled_object(another_mds, "chat") == "chat-1"


def test_should_ignore_scaled_objects_on_other_kinds_or_without_a_target() -> None:
    statefulset = scaled_object_targeting({"kind": "StatefulSet", "name": "chat-1"})

    assert is_foreign_scaled_object(statefulset, "chat") is None
    assert is_foreign_scaled_object({"metadata": {}, "spec": {}}, "chat") is None


def test_only_an_hpa_owned_by_a_keda_scaledobject_is_kedas() -> None:
    keda = {"ownerReferences": [{"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject"}]}
    ours = {"ownerReferences": [{"apiVersion": "llmops.dev/v1alpha1", "kind": "ModelDeployment"}]}
    other = {"ownerReferences": [{"apiVersion": "example.com/v1", "kind": "ScaledObject"}]}
    assert is_made_by_keda(keda)
    assert not is_made_by_keda(ours)
    assert not is_made_by_keda(other)
    assert not is_made_by_keda({})
