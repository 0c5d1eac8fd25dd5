"""The verdict ConfigMap the in-cluster Job leaves for the operator (see `k8s.job`).

`build_verdict_configmap` is pure; `publish_verdict` writes it with the Pod's
ServiceAccount (replace the pending one `k8s.job` created; create it only if it is missing).
Outside a cluster it uses the kubeconfig (``KUBECONFIG`` or ``~/.kube/config``) and its
current context's namespace, so the Pod's exact command can be run from a workstation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from llmops_loadtest.errors import LoadtestError

NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


SUMMARY_LIMIT = 256 * 1024  # of a ConfigMap's 1 MiB


def build_verdict_configmap(
    name: str,
    namespace: str,
    report: dict[str, Any] | None,
    error: str = "",
    summary: str = "",
    *,
    extra: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """From a report (or, when the run could not happen, its one-line ``error``); the
    report's Markdown ``summary`` rides along (``summary.md``), so the verdict people read
    outlives the Job's pod, and so do ``extra`` keys (an evaluation gate's records)."""
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
        if summary:
            data["summary.md"] = summary[:SUMMARY_LIMIT]
        data.update(extra or {})
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


def _connect() -> tuple[client.CoreV1Api, str]:
    """The API and the namespace: the Pod's own in a cluster, else the kubeconfig's."""
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
        return client.CoreV1Api(), NAMESPACE_FILE.read_text().strip()
    except config.ConfigException:
        pass
    try:
        config.load_kube_config()  # type: ignore[no-untyped-call]
        _, active = config.list_kube_config_contexts()  # type: ignore[no-untyped-call]
    except Exception as err:  # the client's config errors have no common base class
        raise LoadtestError(
            "--verdict-configmap", f"no cluster to write to: {err}", "run it in a Pod"
        ) from None
    namespace = str((active or {}).get("context", {}).get("namespace") or "default")
    return client.CoreV1Api(), namespace


def publish_verdict(
    name: str,
    report: dict[str, Any] | None,
    error: str = "",
    summary: str = "",
    extra: Mapping[str, str] | None = None,
) -> None:
    """Replace ConfigMap ``name`` (or create it if missing) with the verdict."""
    api, namespace = _connect()
    body = build_verdict_configmap(name, namespace, report, error, summary, extra=extra)
    try:
        try:
            api.replace_namespaced_config_map(name, namespace, body)  # type: ignore[arg-type]
        except ApiException as err:
            if err.status != 404:
                raise
            api.create_namespaced_config_map(namespace, body)  # type: ignore[arg-type]
    except ApiException as err:
        raise LoadtestError(
            "--verdict-configmap", f"cannot write {namespace}/{name}: {err.reason}"
        ) from None
    except urllib3.exceptions.HTTPError as err:  # the API server did not answer
        raise LoadtestError(
            "--verdict-configmap", f"cannot reach the API server: {type(err).__name__}"
        ) from None
