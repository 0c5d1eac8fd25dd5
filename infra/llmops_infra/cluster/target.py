"""Which cluster llmops talks to: the local one, or an existing one the user allowed.

An existing cluster is used only when asked (`--use-existing-cluster` or
``LLMOPS_USE_EXISTING_CLUSTER=1``) and only if the kubeconfig's current context is named
in ``LLMOPS_ALLOWED_CONTEXTS``: tests create and delete namespaces, and must never do so
on a cluster somebody did not hand over explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings


@dataclass(frozen=True)
class ClusterTarget:
    kubeconfig: Path
    context: str
    local: bool  # True: the local control plane that llmops runs itself


def current_context(kubeconfig: Path) -> str:
    try:
        config = yaml.safe_load(kubeconfig.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise LlmopsError(f"kubeconfig {kubeconfig}", f"cannot be read: {err}") from err
    context = config.get("current-context")
    if not context:
        raise LlmopsError(
            f"kubeconfig {kubeconfig}",
            "has no current-context",
            "run `kubectl config use-context NAME`",
        )
    return str(context)


def resolve_target(settings: LocalSettings) -> ClusterTarget:
    """The cluster to use; raises if an existing cluster is asked for but not allowed."""
    if not settings.use_existing_cluster:
        return ClusterTarget(settings.admin_kubeconfig, settings.cluster_name, local=True)
    kubeconfig = settings.kubeconfig or Path.home() / ".kube" / "config"
    if not kubeconfig.is_file():
        raise LlmopsError(
            "existing cluster",
            f"no kubeconfig at {kubeconfig}",
            "set KUBECONFIG, or drop --use-existing-cluster to use the local cluster",
        )
    context = current_context(kubeconfig)
    if context not in settings.allowed_contexts:
        allowed = ", ".join(settings.allowed_contexts) or "none"
        raise LlmopsError(
            f"context {context!r}",
            f"is not allowed (allowed: {allowed})",
            f"set LLMOPS_ALLOWED_CONTEXTS={context} if llmops may create and delete "
            "namespaces there",
        )
    return ClusterTarget(kubeconfig, context, local=False)
