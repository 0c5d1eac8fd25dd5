"""The llmops-operator chart's namespaced RBAC grants what the operator needs and nothing more.

The chart is rendered in namespaced mode for a fresh namespace; its ServiceAccount, Roles and
RoleBindings are applied, and the API server itself answers, through impersonation of that
ServiceAccount, what it may do (`kubectl auth can-i`) and what it does (real requests).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
import yaml

from llmops_infra.charts import CHARTS_DIR, CRD_PATH
from tests.cluster.kube import Kube
from tests.cluster.namespaces import create_namespace, delete_namespace

RELEASE = "op"
SERVICE_ACCOUNT = "op-llmops-operator"  # the chart's fullname for release "op"
RBAC_KINDS = {"ServiceAccount", "Role", "RoleBinding"}

# (verb, API group, resource, subresource)
NEEDED = [  # what the operator's handlers do in the namespace it watches
    ("watch", "llmops.dev", "modeldeployments", ""),
    ("patch", "llmops.dev", "modeldeployments", "status"),
    ("create", "apps", "deployments", ""),
    ("patch", "apps", "deployments", ""),
    ("create", "", "services", ""),
    ("create", "", "configmaps", ""),
    ("patch", "", "configmaps", ""),
    # a release manifest: the namespace's llmops Deployments and their pods' image digests
    ("list", "apps", "deployments", ""),
    ("list", "", "pods", ""),
    ("create", "", "events", ""),
    ("create", "events.k8s.io", "events", ""),
    ("create", "batch", "jobs", ""),
    ("patch", "serving.kserve.io", "inferenceservices", ""),
    ("patch", "gateway.networking.k8s.io", "httproutes", ""),
    ("create", "coordination.k8s.io", "leases", ""),
    ("list", "autoscaling", "horizontalpodautoscalers", ""),
    ("patch", "autoscaling", "horizontalpodautoscalers", ""),
    ("create", "keda.sh", "scaledobjects", ""),
    # loadTest.runner=job (the default): each gate Job gets its input and verdict ConfigMaps
    # and a ServiceAccount whose Role may update that one verdict, all removed afterwards.
    ("delete", "", "configmaps", ""),
    ("create", "", "serviceaccounts", ""),
    ("delete", "", "serviceaccounts", ""),
    ("create", "rbac.authorization.k8s.io", "roles", ""),
    ("create", "rbac.authorization.k8s.io", "rolebindings", ""),
    ("delete", "batch", "jobs", ""),
]
NOT_NEEDED = [  # in that same namespace
    ("get", "", "secrets", ""),
    ("list", "", "secrets", ""),
    ("create", "", "pods", ""),
    ("create", "", "pods", "exec"),
    ("create", "", "serviceaccounts", "token"),
    # a Role it makes can grant only what it holds itself: no escalate, no bind
    ("escalate", "rbac.authorization.k8s.io", "roles", ""),
    ("bind", "rbac.authorization.k8s.io", "roles", ""),
    ("bind", "rbac.authorization.k8s.io", "clusterroles", ""),
    ("delete", "llmops.dev", "modeldeployments", ""),
    ("delete", "serving.kserve.io", "inferenceservices", ""),
]
CLUSTER_WIDE = [
    ("list", "", "namespaces", ""),
    ("list", "llmops.dev", "modeldeployments", ""),
    ("create", "rbac.authorization.k8s.io", "clusterroles", ""),
]
Need = tuple[str, str, str, str]


@pytest.fixture
def operator_rbac(kube: Kube, namespace: str) -> str:
    """The chart's RBAC applied to ``namespace``; returns the ServiceAccount's user name."""
    manifests = helm_template(kube, namespace)
    docs = [d for d in yaml.safe_load_all(manifests) if d and d["kind"] in RBAC_KINDS]
    assert {d["kind"] for d in docs} == RBAC_KINDS
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(docs))
    ensure_crd(kube)
    return f"system:serviceaccount:{namespace}:{SERVICE_ACCOUNT}"


@pytest.fixture
def other_namespace(kube: Kube) -> Iterator[str]:
    name = create_namespace(kube)
    yield name
    delete_namespace(kube, name)


def helm_template(kube: Kube, namespace: str) -> str:
    """The chart in namespaced mode, by the pinned helm (on ``kube.env``'s PATH)."""
    result = subprocess.run(
        [
            "helm",
            "template",
            RELEASE,
            str(CHARTS_DIR / "llmops-operator"),
            "--namespace",
            namespace,
            "--set",
            "watch.scope=namespaced",
        ],
        env=kube.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def ensure_crd(kube: Kube) -> None:
    """Create the CRD unless it exists (the operator tests apply the same file server-side)."""
    created = kube.kubectl("create", "-f", str(CRD_PATH), check=False)
    assert created.returncode == 0 or "AlreadyExists" in created.stderr, created.stderr
    kube.wait_established("modeldeployments.llmops.dev")


def can_i(kube: Kube, user: str, namespace: str, need: Need) -> bool:
    """What `kubectl auth can-i` asks, posted as ``user`` with the API group spelled out.

    `auth can-i` resolves ``inferenceservices.serving.kserve.io`` through discovery, which
    fails where KServe and Gateway API are not installed, and then asks about the wrong group.
    """
    verb, group, resource, sub = need
    attributes = {"namespace": namespace, "verb": verb, "group": group, "resource": resource}
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {**attributes, "subresource": sub}},
    }
    answer = kube.kubectl(
        "create", "--validate=false", "-o", "jsonpath={.status.allowed}", "-f", "-",
        stdin=json.dumps(review), as_user=user,
    )  # fmt: skip
    return answer.stdout.strip() == "true"


def test_should_answer_auth_can_i_like_the_access_reviews(
    kube: Kube, namespace: str, operator_rbac: str
) -> None:
    patch_status = kube.kubectl(
        "auth", "can-i", "patch", "modeldeployments.llmops.dev", "--subresource=status",
        "-n", namespace, as_user=operator_rbac, check=False,
    )  # fmt: skip
    get_secrets = kube.kubectl(
        "auth", "can-i", "get", "secrets", "-n", namespace, as_user=operator_rbac, check=False
    )

    assert (patch_status.stdout.strip(), get_secrets.stdout.strip()) == ("yes", "no")


def test_should_grant_the_operator_every_verb_it_needs_in_its_namespace(
    kube: Kube, namespace: str, operator_rbac: str
) -> None:
    denied = [n for n in NEEDED if not can_i(kube, operator_rbac, namespace, n)]

    assert denied == []


def test_should_deny_the_operator_secrets_pods_and_rbac_in_its_namespace(
    kube: Kube, namespace: str, operator_rbac: str
) -> None:
    allowed = [n for n in NOT_NEEDED if can_i(kube, operator_rbac, namespace, n)]

    assert allowed == []


def test_should_deny_the_operator_anything_in_another_namespace_or_cluster_wide(
    kube: Kube, operator_rbac: str, other_namespace: str
) -> None:
    allowed = [n for n in NEEDED if can_i(kube, operator_rbac, other_namespace, n)]
    allowed += [n for n in CLUSTER_WIDE if can_i(kube, operator_rbac, "", n)]

    assert allowed == []


def test_should_let_the_operator_write_status_and_config_but_not_read_secrets(
    kube: Kube, namespace: str, operator_rbac: str
) -> None:
    md = {
        "apiVersion": "llmops.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "gemma"},
        "spec": {
            "model": {"name": "gemma", "mlflow": {"name": "gemma", "version": "3"}},
            "route": {"httpRoute": "llm"},
            "strategy": {"canary": {"steps": [{"setWeight": 100}]}},
        },
    }
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(md))
    kube.kubectl("create", "secret", "generic", "api-keys", "-n", namespace, "--from-literal=k=v")

    kube.kubectl(
        "patch",
        "modeldeployment",
        "gemma",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status": {"phase": "Progressing"}}',
        as_user=operator_rbac,
    )
    kube.kubectl(
        "create",
        "configmap",
        "routes",
        "-n",
        namespace,
        "--from-literal=a=b",
        as_user=operator_rbac,
    )
    secret = kube.kubectl(
        "get", "secret", "api-keys", "-n", namespace, as_user=operator_rbac, check=False
    )
    phase = kube.kubectl(
        "get", "modeldeployment", "gemma", "-n", namespace, "-o", "jsonpath={.status.phase}"
    )

    assert phase.stdout == "Progressing"
    assert secret.returncode != 0
    assert "forbidden" in secret.stderr.lower()
