"""The `cluster` tier: one real control plane for the whole session.

The local cluster is started once, from empty etcd data (or reused if it is already up
and healthy), and stopped at the end only if this session started it. With
``LLMOPS_USE_EXISTING_CLUSTER=1`` the tests run against the cluster KUBECONFIG points at,
provided its context is listed in ``LLMOPS_ALLOWED_CONTEXTS``. If the cluster cannot
start, every test of this tier fails with the reason; none is skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from llmops import cluster
from llmops.errors import LlmopsError
from llmops.settings import LocalSettings, base_env
from llmops.toolchain import ensure_tools, tool_env
from tests.cluster.kube import Kube


@pytest.fixture(scope="session")
def settings() -> LocalSettings:
    return LocalSettings()


@pytest.fixture(scope="session")
def kube(settings: LocalSettings) -> Iterator[Kube]:
    env = base_env()
    started = False
    try:
        ensure_tools(settings)
        target = cluster.resolve_target(settings)
        if target.local and not cluster.status(settings).is_healthy:
            cluster.up(settings, env, fresh=True)
            started = True
    except LlmopsError as err:
        pytest.fail(f"the cluster tier needs a cluster: {err.one_line()}", pytrace=False)
    tools = tool_env(settings, env)
    tools["KUBECONFIG"] = str(target.kubeconfig)
    yield Kube(target.kubeconfig, tools)
    if started:
        cluster.down(settings)


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
