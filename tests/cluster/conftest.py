"""The `cluster` tier: one real control plane for the whole session (fixture `kube`, in
tests/conftest.py, shared with the `node` tier)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.cluster.kube import Kube


@pytest.fixture
def namespace(kube: Kube) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards (without waiting).

    The test's operator is gone by then, so nothing would ever remove the finalizer it put
    on the namespace's ModelDeployments, and the namespace would stay Terminating: the
    finalizers are dropped first (a test that checks deletion does so while its operator
    runs)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    kube.kubectl("create", "namespace", name)
    yield name
    listed = kube.kubectl(
        "get", "modeldeployments.llmops.dev", "-n", name, "-o", "name", check=False
    )
    for resource in listed.stdout.split() if listed.returncode == 0 else []:
        kube.kubectl(
            "patch", resource, "-n", name, "--type=merge",
            "-p", '{"metadata":{"finalizers":null}}', check=False,
        )  # fmt: skip
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)
