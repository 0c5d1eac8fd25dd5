"""The local Kubernetes control plane: real etcd, kube-apiserver, kube-controller-manager
and kube-scheduler built from the pinned Go modules, with kwok's fake nodes.

Public surface: `up`, `down`, `status`, `resolve_target` and the types they return.
"""

from llmops_infra.cluster.lifecycle import ClusterStatus, ComponentStatus, down, status, up
from llmops_infra.cluster.target import ClusterTarget, resolve_target

__all__ = [
    "ClusterStatus",
    "ClusterTarget",
    "ComponentStatus",
    "down",
    "resolve_target",
    "status",
    "up",
]
