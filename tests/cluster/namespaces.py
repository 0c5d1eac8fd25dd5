"""Test namespaces: made fresh, deleted without waiting, and never left Terminating.

A test's operator is usually gone when its namespace is deleted, so nothing would remove the
finalizer kopf put on each ModelDeployment and the namespace would stay Terminating for good.
`delete_namespace` therefore releases them first, in an order a still-running operator cannot
undo: the ModelDeployments are deleted (a deleting object takes no new finalizer, so kopf
cannot put its own back), then their finalizers are dropped, then the namespace goes.

Every namespace made or deleted here is remembered (`SEEN`); at the end of the session the
cluster tier asserts none of them is still Terminating (`still_terminating`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from typing import Any

from tests.cluster.kube import Kube

MODEL_DEPLOYMENTS = "modeldeployments.llmops.dev"
SEEN: set[str] = set()  # namespaces this session made or deleted


def new_namespace_name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_namespace(kube: Kube, name: str | None = None) -> str:
    name = name or new_namespace_name()
    kube.kubectl("create", "namespace", name)
    SEEN.add(name)
    return name


def release_model_deployments(kube: Kube, namespace: str) -> None:
    """Delete every ModelDeployment of ``namespace`` and drop the finalizers holding them."""
    listed = kube.kubectl("get", MODEL_DEPLOYMENTS, "-n", namespace, "-o", "name", check=False)
    resources = listed.stdout.split() if listed.returncode == 0 else []
    if not resources:
        return  # also: no such namespace, or the CRD is not installed
    kube.kubectl("delete", *resources, "-n", namespace, "--wait=false", check=False)
    for resource in resources:
        kube.kubectl(
            "patch", resource, "-n", namespace, "--type=merge",
            "-p", '{"metadata":{"finalizers":null}}', check=False,
        )  # fmt: skip


def delete_namespace(kube: Kube, name: str) -> None:
    """Release the namespace's ModelDeployments, then delete it (without waiting)."""
    SEEN.add(name)
    release_model_deployments(kube, name)
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


def terminating(listing: dict[str, Any], names: Iterable[str]) -> dict[str, str]:
    """Of ``names``, the namespaces a ``kubectl get namespaces -o json`` shows Terminating,
    each with what holds it (the namespace controller's conditions)."""
    wanted = set(names)
    found: dict[str, str] = {}
    for item in listing.get("items", []):
        name = item["metadata"]["name"]
        status = item.get("status") or {}
        if name in wanted and status.get("phase") == "Terminating":
            held = [
                f"{c.get('type')}: {c.get('message')}"
                for c in status.get("conditions") or []
                if c.get("status") == "True"
            ]
            found[name] = "; ".join(held) or "Terminating"
    return found


def still_terminating(kube: Kube, names: Iterable[str], timeout: float = 90) -> dict[str, str]:
    """The namespaces of ``names`` still Terminating after ``timeout`` seconds (a deletion
    takes a few seconds normally: its pods stop, its objects are removed)."""
    names = set(names)
    deadline = time.monotonic() + timeout
    while True:
        listed = kube.kubectl("get", "namespaces", "-o", "json", check=False)
        stuck = terminating(json.loads(listed.stdout or "{}"), names)
        if not stuck or time.monotonic() >= deadline:
            return stuck
        time.sleep(2)
