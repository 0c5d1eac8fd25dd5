"""The one Pod Security "restricted" builder: never root, no escalation, RuntimeDefault."""

from __future__ import annotations

from llmops_loadtest.k8s.security import (
    build_restricted_container_security_context,
    build_restricted_pod_security_context,
)


def test_should_drop_everything_a_restricted_container_may_not_have() -> None:
    context = build_restricted_container_security_context()
    assert context["allowPrivilegeEscalation"] is False
    assert context["runAsNonRoot"] is True and context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_should_name_group_and_fs_group_only_when_given() -> None:
    assert build_restricted_pod_security_context(65532) == {
        "runAsNonRoot": True, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"},
    }  # fmt: skip
    full = build_restricted_pod_security_context(10001, run_as_group=10002, fs_group=10003)
    assert (full["runAsGroup"], full["fsGroup"]) == (10002, 10003)


def test_should_hand_out_a_fresh_dict_each_time() -> None:
    first = build_restricted_container_security_context()
    first["seccompProfile"]["type"] = "Unconfined"
    assert build_restricted_container_security_context()["seccompProfile"]["type"] == (
        "RuntimeDefault"
    )
