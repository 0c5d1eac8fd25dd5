"""The operator as its chart runs it: the chart's ServiceAccount and RBAC (namespaced scope, or
cluster scope under a release name of the test's own), a real token for that ServiceAccount
(TokenRequest), and the image's entry point.

A token, not impersonation: neither kopf nor the kubernetes client honours a kubeconfig's
``as:`` field, and a token is exactly what the pod would present.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llmops_infra.charts import CHARTS_DIR
from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import Operator, free_port

RELEASE = "op"
SERVICE_ACCOUNT = LEASE = "op-llmops-operator"  # the chart's fullname for release "op"
RBAC_KINDS = {"ServiceAccount", "Role", "RoleBinding"}
CLUSTER_KINDS = {"ClusterRole", "ClusterRoleBinding"}


def render_chart(kube: Kube, release: str, namespace: str, *values: str) -> list[dict[str, Any]]:
    """``helm template`` of the operator chart by the pinned helm; ``values``: ``--set`` pairs."""
    sets = [arg for value in values for arg in ("--set", value)]
    rendered = subprocess.run(
        ["helm", "template", release, str(CHARTS_DIR / "llmops-operator"),
         "--namespace", namespace, *sets],
        env=kube.env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [d for d in yaml.safe_load_all(rendered) if d]


def apply_chart_rbac(kube: Kube, namespace: str) -> None:
    """The chart in namespaced scope for ``namespace``: its ServiceAccount, Roles, bindings."""
    rendered = render_chart(kube, RELEASE, namespace, "watch.scope=namespaced")
    docs = [d for d in rendered if d["kind"] in RBAC_KINDS]
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(docs))


@dataclass(frozen=True)
class ClusterRelease:
    """The chart rendered in cluster scope (its default) as release ``name`` in ``namespace``.

    Its ClusterRole and ClusterRoleBinding are cluster-scoped and named after the release, so
    a release name of the test's own keeps them apart from every other test's.
    """

    name: str
    namespace: str
    docs: tuple[dict[str, Any], ...]

    @property
    def fullname(self) -> str:
        """The chart's fullname: ServiceAccount, ClusterRole and Lease are all called this."""
        return f"{self.name}-llmops-operator"

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.fullname}"

    def of_kinds(self, kinds: set[str]) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] in kinds]


def render_cluster_release(kube: Kube, release: str, namespace: str) -> ClusterRelease:
    """The chart in its default, cluster scope, as release ``release`` in ``namespace``."""
    return ClusterRelease(release, namespace, tuple(render_chart(kube, release, namespace)))


def apply_cluster_chart_rbac(kube: Kube, chart: ClusterRelease) -> None:
    """Its ServiceAccount, ClusterRole and ClusterRoleBinding, and the Role and RoleBinding of
    its Lease in the release namespace. Undo with `delete_cluster_chart_rbac` (deleting the
    namespace leaves cluster-scoped objects behind)."""
    docs = chart.of_kinds(RBAC_KINDS | CLUSTER_KINDS)
    assert {d["kind"] for d in docs} >= CLUSTER_KINDS, "the chart's default scope is cluster"
    kube.kubectl("apply", "-n", chart.namespace, "-f", "-", stdin=yaml.safe_dump_all(docs))


def delete_cluster_chart_rbac(kube: Kube, chart: ClusterRelease) -> None:
    for doc in chart.of_kinds(CLUSTER_KINDS):
        kube.kubectl("delete", doc["kind"].lower(), doc["metadata"]["name"], "--ignore-not-found")


def chart_env(chart: ClusterRelease, pod_name: str) -> dict[str, str]:
    """The operator container's env as the chart sets it, with the downward API's pod name and
    namespace filled in the way the kubelet would (other references cannot be, and are left
    out)."""
    deployment = next(d for d in chart.docs if d["kind"] == "Deployment")
    fields = {"metadata.name": pod_name, "metadata.namespace": chart.namespace}
    env: dict[str, str] = {}
    for item in deployment["spec"]["template"]["spec"]["containers"][0].get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif (path := item.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")) in fields:
            env[item["name"]] = fields[path]
    return env


def cluster_chart_operator(
    kube: Kube, chart: ClusterRelease, tmp_path: Path, identity: str, **settings: str
) -> Operator:
    """``python -m llmops_operator`` with the chart's env (in cluster scope: no namespaces,
    so every namespace), under a token of the release's ServiceAccount. Only ports, the tick,
    the Prometheus URL and the report folder differ from the pod's."""
    kubeconfig = write_service_account_kubeconfig(
        kube, chart.namespace, tmp_path / "operator.kubeconfig", chart.fullname
    )
    env = {
        **os.environ,
        **kube.env,
        "KUBECONFIG": str(kubeconfig),
        **chart_env(chart, identity),
        "LLMOPS_OPERATOR_HEALTH_PORT": str(free_port()),
        "LLMOPS_OPERATOR_METRICS_PORT": str(free_port()),
        "LLMOPS_OPERATOR_TICK_INTERVAL_S": "1",
        "LLMOPS_OPERATOR_PROMETHEUS_URL": "http://127.0.0.1:9",  # no analysis step here
        "LLMOPS_OPERATOR_REPORT_DIR": str(tmp_path / "reports"),
        **{f"LLMOPS_OPERATOR_{key.upper()}": value for key, value in settings.items()},
    }
    command = [sys.executable, "-m", "llmops_operator"]
    # With a command, Operator.namespace is not used: this operator watches every namespace.
    return Operator(chart.namespace, env, tmp_path / f"{identity}.log", command=command)


def write_service_account_kubeconfig(
    kube: Kube, namespace: str, path: Path, service_account: str = SERVICE_ACCOUNT
) -> Path:
    """The admin kubeconfig's cluster, with a short-lived token of the chart's ServiceAccount."""
    token = kube.kubectl(
        "create", "token", service_account, "-n", namespace, "--duration=1h"
    ).stdout.strip()
    config = yaml.safe_load(kube.kubeconfig.read_text())
    context = config["contexts"][0]["context"]
    config["users"] = [{"name": "operator", "user": {"token": token}}]
    config["contexts"] = [
        {"name": "operator", "context": {"cluster": context["cluster"], "user": "operator"}}
    ]
    config["current-context"] = "operator"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def chart_operator(
    kube: Kube, namespace: str, tmp_path: Path, identity: str, **settings: str
) -> Operator:
    """``python -m llmops_operator`` as the chart's pod runs it (env only, no args)."""
    kubeconfig = tmp_path / "operator.kubeconfig"
    if not kubeconfig.exists():
        write_service_account_kubeconfig(kube, namespace, kubeconfig)
    env = {
        **os.environ,
        **kube.env,
        "KUBECONFIG": str(kubeconfig),
        "LLMOPS_OPERATOR_NAMESPACES": namespace,
        "LLMOPS_OPERATOR_POD_NAME": identity,
        "LLMOPS_OPERATOR_HEALTH_PORT": str(free_port()),
        "LLMOPS_OPERATOR_SERVE_METRICS": "false",
        "LLMOPS_OPERATOR_TICK_INTERVAL_S": "1",
        "LLMOPS_OPERATOR_PROMETHEUS_URL": "http://127.0.0.1:9",  # no analysis step here
        "LLMOPS_OPERATOR_REPORT_DIR": str(tmp_path / "reports"),
        "LLMOPS_OPERATOR_LEASE_NAME": LEASE,
        "LLMOPS_OPERATOR_LEASE_NAMESPACE": namespace,
        **{f"LLMOPS_OPERATOR_{key.upper()}": value for key, value in settings.items()},
    }
    command = [sys.executable, "-m", "llmops_operator"]
    return Operator(namespace, env, tmp_path / f"{identity}.log", command=command)
