"""Pod Security "restricted" security contexts (pure dicts), built once for every pod we make.

The load-test Job (`llmops_loadtest.k8s.job`), the operator's revision Deployments
(`llmops_operator.core.manifests.workloads`) and the local cluster's CoreDNS use them. They
live in the load-test package because the operator and the local tooling may import it and
it imports neither; not in `llmops_contracts`, which holds the wire formats our components
exchange, not Kubernetes policy.
"""

from __future__ import annotations

from typing import Any

RESTRICTED_SECCOMP = {"type": "RuntimeDefault"}


def build_restricted_container_security_context() -> dict[str, Any]:
    """No privilege escalation, no capabilities, a read-only root, never root."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": dict(RESTRICTED_SECCOMP),
    }


def build_restricted_pod_security_context(
    run_as_user: int, *, run_as_group: int | None = None, fs_group: int | None = None
) -> dict[str, Any]:
    """A non-root user (group and fsGroup when given) and the runtime's seccomp profile."""
    context: dict[str, Any] = {"runAsNonRoot": True, "runAsUser": run_as_user}
    if run_as_group is not None:
        context["runAsGroup"] = run_as_group
    if fs_group is not None:
        context["fsGroup"] = fs_group
    context["seccompProfile"] = dict(RESTRICTED_SECCOMP)
    return context
