"""The operator chart in cluster scope (its default): one operator, under a token of the chart's
ServiceAccount bound to the chart's ClusterRole, reconciles ModelDeployments in any namespace,
and that ServiceAccount may do nothing the chart does not grant.

The release gets a name of its own, so its ClusterRole and ClusterRoleBinding never meet
another test's; they are deleted afterwards.

The test cluster is shared: other tests' ModelDeployments live in it too, watched by their
own operators, and a cluster-scope operator sees them all. A ValidatingAdmissionPolicy (the
"fence") therefore denies this test's ServiceAccount every write outside the test's own
namespaces. It grants nothing, so the chart's RBAC alone is what makes the rollouts here work.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.kube import Kube
from tests.cluster.namespaces import create_namespace, delete_namespace
from tests.cluster.operator.chart_identity import (
    ClusterRelease,
    apply_cluster_chart_rbac,
    cluster_chart_operator,
    delete_cluster_chart_rbac,
    render_cluster_release,
    write_service_account_kubeconfig,
)
from tests.cluster.operator.conftest import Operator
from tests.cluster.operator.helpers import apply_example, set_revision, wait_for, weights

STEPS = [{"setWeight": 25}, {"pause": {}}]


@pytest.fixture
def chart(kube: Kube, crd: None, namespace: str) -> Iterator[ClusterRelease]:
    """The release's RBAC; ``namespace`` is the release namespace (ServiceAccount, Lease)."""
    release = render_cluster_release(kube, f"cw{uuid.uuid4().hex[:8]}", namespace)
    try:
        apply_cluster_chart_rbac(kube, release)
        yield release
    finally:  # also after a half-applied release
        delete_cluster_chart_rbac(kube, release)


@pytest.fixture
def teams(kube: Kube) -> Iterator[tuple[str, str]]:
    """Two namespaces holding ModelDeployments, neither of them the release namespace."""
    names = (create_namespace(kube), create_namespace(kube))
    yield names
    # Their ModelDeployments hold the operator's finalizer: released first, or both
    # namespaces would stay Terminating once the operator is gone.
    for name in names:
        delete_namespace(kube, name)


@pytest.fixture
def service_account(kube: Kube, chart: ClusterRelease, tmp_path: Path) -> Kube:
    """kubectl with a real token of the release's ServiceAccount (what its pod presents)."""
    path = tmp_path / "service-account.kubeconfig"
    write_service_account_kubeconfig(kube, chart.namespace, path, chart.fullname)
    return Kube(path, kube.env)


def fence(chart: ClusterRelease, namespaces: list[str]) -> list[dict[str, Any]]:
    """A policy denying the ServiceAccount every write outside ``namespaces``."""
    name = f"{chart.fullname}-test-fence"
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["*"],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE", "DELETE"],
                        "resources": ["*/*"],  # every resource and subresource
                    }
                ]
            },
            "matchConditions": [
                {
                    "name": "this-tests-operator",
                    "expression": f"request.userInfo.username == {json.dumps(chart.user)}",
                }
            ],
            "validations": [
                {
                    "expression": f"request.namespace in {json.dumps(namespaces)}",
                    "reason": "Invalid",  # 422: never mistaken for an RBAC denial (403)
                    "message": "outside this test's namespaces (test fence)",
                }
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": name, "validationActions": ["Deny"]},
    }
    return [policy, binding]


@pytest.fixture
def fenced(
    kube: Kube, chart: ClusterRelease, teams: tuple[str, str], service_account: Kube
) -> Iterator[None]:
    docs = fence(chart, [chart.namespace, *teams])
    try:
        kube.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(docs))
        # A new policy takes effect within moments; the operator must not start before. The
        # probe is a dry run: nothing is written even while the fence is not up yet.
        probe = ["create", "configmap", "fence-probe", "-n", "default", "--dry-run=server"]
        deadline = time.monotonic() + 20
        while "test fence" not in (answer := service_account.kubectl(*probe, check=False)).stderr:
            if time.monotonic() > deadline:
                pytest.fail(f"the test fence did not take effect: {answer.stderr}", pytrace=False)
            time.sleep(0.2)
        yield
    finally:  # also after a half-applied fence: both objects are cluster-scoped
        for doc in reversed(docs):
            name = doc["metadata"]["name"]
            kube.kubectl("delete", doc["kind"].lower(), name, "--ignore-not-found")


@pytest.fixture
def cluster_operator(
    kube: Kube, chart: ClusterRelease, fenced: None, tmp_path: Path
) -> Iterator[Operator]:
    handle = cluster_chart_operator(kube, chart, tmp_path, "op-0")
    handle.start()
    yield handle
    handle.stop()


def lease_holder(kube: Kube, chart: ClusterRelease) -> str:
    lease = kube.kubectl("get", "lease", chart.fullname, "-n", chart.namespace, "-o", "json")
    return str(json.loads(lease.stdout)["spec"].get("holderIdentity", ""))


def is_paused_at_25(status: dict[str, Any]) -> bool:
    return status.get("phase") == "Paused" and status.get("canaryWeight") == 25


def test_one_cluster_scope_operator_rolls_out_in_two_namespaces(
    kube: Kube, chart: ClusterRelease, teams: tuple[str, str], cluster_operator: Operator
) -> None:
    op = cluster_operator
    names = {
        ns: apply_example(kube, ns, "canary.yaml", strategy__canary__steps=STEPS) for ns in teams
    }

    # The first revision of each comes up and takes all traffic in its namespace's routing table
    for ns, name in names.items():
        wait_for(kube, ns, name, lambda s: s.get("phase") == "Succeeded", operator=op)
        assert weights(kube, ns) == {"stable": 100}
    # Then a canary in each: 25 % and a pause
    for ns, name in names.items():
        set_revision(kube, ns, name, "2")
    for ns, name in names.items():
        wait_for(kube, ns, name, is_paused_at_25, operator=op)
        assert weights(kube, ns) == {"stable": 75, "canary": 25}

    assert lease_holder(kube, chart) == "op-0"  # the chart's Lease, in the release namespace
    for ns, name in names.items():  # kopf's Events, created in each ModelDeployment's namespace
        events = kube.kubectl(
            "get", "events", "-n", ns, "--field-selector", f"involvedObject.name={name}",
            "-o", "json",
        )  # fmt: skip
        assert json.loads(events.stdout)["items"], f"no Events in {ns}"
    # No RBAC denial on the way: only those name the user ('User "system:serviceaccount:..."
    # cannot ...'); the fence's denials elsewhere do not.
    assert chart.user not in op.log.read_text()


# (verb, resource, flags): `kubectl auth can-i` as the ServiceAccount itself (its token).
ALLOWED = [
    ("list", "modeldeployments.llmops.dev", "--all-namespaces"),
    ("watch", "modeldeployments.llmops.dev", "--all-namespaces"),
    ("patch", "modeldeployments.llmops.dev", "--subresource=status -n {team}"),
    ("create", "deployments.apps", "-n {team}"),
    ("patch", "configmaps", "-n {team}"),
    ("create", "events", "-n {team}"),
    ("create", "leases.coordination.k8s.io", "-n {release}"),
    ("update", "leases.coordination.k8s.io/{lease}", "-n {release}"),
    # loadTest.runner=job (the default): per gate run, input and verdict ConfigMaps and a
    # ServiceAccount whose Role may update that one verdict, removed afterwards
    ("delete", "configmaps", "-n {team}"),
    ("create", "rolebindings.rbac.authorization.k8s.io", "-n {team}"),
    ("create", "jobs.batch", "-n {team}"),
]
DENIED = [
    ("list", "secrets", "--all-namespaces"),
    ("list", "namespaces", ""),  # a cluster-wide watch of ModelDeployments needs none
    ("get", "secrets", "-n {team}"),
    ("create", "pods", "-n {team}"),
    ("create", "pods", "--subresource=exec -n {team}"),
    ("delete", "modeldeployments.llmops.dev", "--all-namespaces"),
    ("create", "serviceaccounts", "--subresource=token -n {release}"),
    ("create", "clusterroles.rbac.authorization.k8s.io", ""),
    # the Roles it makes grant only what it holds: no escalate, no bind
    ("escalate", "roles.rbac.authorization.k8s.io", "-n {team}"),
    ("bind", "clusterroles.rbac.authorization.k8s.io", ""),
    ("update", "leases.coordination.k8s.io/someone-elses", "-n {release}"),
    ("create", "leases.coordination.k8s.io", "-n {team}"),
]


def test_cluster_scope_service_account_may_reconcile_anywhere_and_nothing_more(
    chart: ClusterRelease, teams: tuple[str, str], service_account: Kube
) -> None:
    names = {"team": teams[0], "release": chart.namespace, "lease": chart.fullname}

    def can_i(verb: str, resource: str, flags: str) -> str:
        args = [verb, resource.format(**names), *flags.format(**names).split()]
        return service_account.kubectl("auth", "can-i", *args, check=False).stdout.strip()

    allowed = {" ".join(rule): can_i(*rule) for rule in ALLOWED}
    denied = {" ".join(rule): can_i(*rule) for rule in DENIED}

    assert allowed == dict.fromkeys(allowed, "yes")
    assert denied == dict.fromkeys(denied, "no")
