"""RBAC is enforced, and tests can act as any ServiceAccount through impersonation."""

from __future__ import annotations

import subprocess

from llmops_infra.cluster import lifecycle
from llmops_infra.settings import LocalSettings
from tests.cluster.kube import Kube

ROLE = """
apiVersion: v1
kind: ServiceAccount
metadata:
  name: reader
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: configmap-reader
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: reader-reads-configmaps
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: configmap-reader
subjects:
  - kind: ServiceAccount
    name: reader
"""


def test_should_deny_a_namespaced_service_account_listing_secrets_cluster_wide(
    kube: Kube, namespace: str
) -> None:
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=ROLE)
    sa = f"system:serviceaccount:{namespace}:reader"

    denied = kube.kubectl("get", "secrets", "--all-namespaces", as_user=sa, check=False)

    assert denied.returncode != 0
    assert "forbidden" in denied.stderr.lower()
    assert f'"{sa}" cannot list resource "secrets"' in denied.stderr


def test_should_allow_a_service_account_what_its_role_grants_and_nothing_more(
    kube: Kube, namespace: str
) -> None:
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=ROLE)
    kube.kubectl("create", "configmap", "settings", "-n", namespace, "--from-literal=a=b")
    sa = f"system:serviceaccount:{namespace}:reader"

    allowed = kube.kubectl("get", "configmaps", "-n", namespace, "-o", "name", as_user=sa)
    can_delete = kube.kubectl(
        "auth", "can-i", "delete", "configmaps", "-n", namespace, as_user=sa, check=False
    )

    assert "configmap/settings" in allowed.stdout
    assert can_delete.stdout.strip() == "no"


def test_should_write_a_kubeconfig_that_acts_as_a_service_account(
    kube: Kube, namespace: str, settings: LocalSettings, tmp_path: object
) -> None:
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=ROLE)
    out = lifecycle.write_impersonating_kubeconfig(
        settings, namespace, "reader", settings.cluster_dir / f"test-{namespace}.kubeconfig"
    )
    try:
        whoami = subprocess.run(
            [
                "kubectl",
                f"--kubeconfig={out}",
                "auth",
                "whoami",
                "-o",
                "jsonpath={.status.userInfo.username}",
            ],
            capture_output=True,
            text=True,
            env=kube.env,
            check=True,
        )
        secrets = subprocess.run(
            ["kubectl", f"--kubeconfig={out}", "get", "secrets", "-n", namespace],
            capture_output=True,
            text=True,
            env=kube.env,
            check=False,
        )
    finally:
        out.unlink()

    assert whoami.stdout == f"system:serviceaccount:{namespace}:reader"
    assert secrets.returncode != 0
    assert "forbidden" in secrets.stderr.lower()
