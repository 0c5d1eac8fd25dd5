"""The operator chart in namespaced scope, checked by impersonating its ServiceAccount: it may
reconcile in the namespace it manages, and it can read no Secret and touch no namespace it
does not manage (least privilege)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.kube import Kube
from tests.cluster.namespaces import create_namespace, delete_namespace
from tests.cluster.operator.chart_identity import SERVICE_ACCOUNT

# (verb, resource, flags); {own}: the managed (release) namespace, {other}: one it does not manage
ALLOWED = [
    ("watch", "modeldeployments.llmops.dev", "-n {own}"),
    ("patch", "modeldeployments.llmops.dev", "--subresource=status -n {own}"),
    ("create", "deployments.apps", "-n {own}"),
    ("patch", "configmaps", "-n {own}"),
]
DENIED = [
    ("get", "secrets", "-n {own}"),
    ("list", "secrets", "--all-namespaces"),
    ("get", "secrets", "-n {other}"),
    ("list", "modeldeployments.llmops.dev", "-n {other}"),
    ("create", "deployments.apps", "-n {other}"),
    ("patch", "configmaps", "-n {other}"),
    ("create", "events", "-n {other}"),
    ("list", "namespaces", ""),
    ("delete", "namespaces", ""),
    ("create", "clusterroles.rbac.authorization.k8s.io", ""),
]


@pytest.fixture
def other(kube: Kube) -> Iterator[str]:
    name = create_namespace(kube)
    yield name
    delete_namespace(kube, name)


def test_namespaced_service_account_may_reconcile_at_home_and_nothing_elsewhere(
    kube: Kube, rbac: None, namespace: str, other: str
) -> None:
    user = f"system:serviceaccount:{namespace}:{SERVICE_ACCOUNT}"
    names = {"own": namespace, "other": other}

    def can_i(verb: str, resource: str, flags: str) -> str:
        args = [verb, resource, *flags.format(**names).split()]
        return kube.kubectl("auth", "can-i", *args, as_user=user, check=False).stdout.strip()

    allowed = {" ".join(rule): can_i(*rule) for rule in ALLOWED}
    denied = {" ".join(rule): can_i(*rule) for rule in DENIED}

    assert allowed == dict.fromkeys(allowed, "yes")
    assert denied == dict.fromkeys(denied, "no")
