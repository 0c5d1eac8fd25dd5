"""The verdict ConfigMap the in-cluster Job leaves for the operator (see `k8s.job`).

`build_verdict_configmap` is pure; `publish_verdict` writes it with the Pod's
ServiceAccount (create, or replace when it exists).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from llmops_loadtest.errors import LoadtestError

NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def build_verdict_configmap(
    name: str, namespace: str, report: dict[str, Any] | None, error: str = ""
) -> dict[str, Any]:
    """From a report (or, when the run could not happen, its one-line ``error``)."""
    if report is None:
        data = {"passed": "error", "headline": error, "verdict.json": json.dumps({"error": error})}
    else:
        verdict = report["verdict"]
        body = {"verdict": verdict, "versions": report.get("versions", {}),
                "profile": report["profile"]["name"]}  # fmt: skip
        data = {
            "passed": "true" if verdict["passed"] else "false",
            "headline": verdict["headline"],
            "verdict.json": json.dumps(body, indent=2),
        }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/name": "llmops-loadtest",
                "app.kubernetes.io/component": "verdict",
            },
        },
        "data": data,
    }


def publish_verdict(name: str, report: dict[str, Any] | None, error: str = "") -> None:
    """Create or replace ConfigMap ``name`` in the Pod's own namespace (in-cluster only)."""
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
        namespace = NAMESPACE_FILE.read_text().strip()
    except Exception as err:  # the client's config errors have no common base class
        raise LoadtestError("--verdict-configmap", f"not inside a cluster: {err}") from None
    body = build_verdict_configmap(name, namespace, report, error)
    api = client.CoreV1Api()
    try:
        api.create_namespaced_config_map(namespace, body)  # type: ignore[arg-type]
    except ApiException as err:
        if err.status != 409:
            raise LoadtestError(
                "--verdict-configmap", f"cannot write {name}: {err.reason}"
            ) from None
        api.replace_namespaced_config_map(name, namespace, body)  # type: ignore[arg-type]
