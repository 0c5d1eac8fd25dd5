"""The operator as its chart runs it: the chart's ServiceAccount and namespaced RBAC, a real
token for that ServiceAccount (TokenRequest), and the image's entry point.

A token, not impersonation: neither kopf nor the kubernetes client honours a kubeconfig's
``as:`` field, and a token is exactly what the pod would present.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from llmops.charts import CHARTS_DIR
from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import Operator, free_port

RELEASE = "op"
SERVICE_ACCOUNT = LEASE = "op-llmops-operator"  # the chart's fullname for release "op"
RBAC_KINDS = {"ServiceAccount", "Role", "RoleBinding"}


def apply_chart_rbac(kube: Kube, namespace: str) -> None:
    """The chart in namespaced scope for ``namespace``: its ServiceAccount, Roles, bindings."""
    rendered = subprocess.run(
        ["helm", "template", RELEASE, str(CHARTS_DIR / "llmops-operator"),
         "--namespace", namespace, "--set", "watch.scope=namespaced"],
        env=kube.env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    docs = [d for d in yaml.safe_load_all(rendered) if d and d["kind"] in RBAC_KINDS]
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(docs))


def write_service_account_kubeconfig(kube: Kube, namespace: str, path: Path) -> Path:
    """The admin kubeconfig's cluster, with a short-lived token of the chart's ServiceAccount."""
    token = kube.kubectl(
        "create", "token", SERVICE_ACCOUNT, "-n", namespace, "--duration=1h"
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
