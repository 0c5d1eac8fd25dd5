"""Test tiers, and the vLLM engine for every tier that needs it.

Tiers follow folders: everything under ``tests/unit`` is marked ``unit``, under
``tests/integration`` ``integration``, under ``tests/cluster`` ``cluster``; select with
``-m``. A test outside those folders is an error, so no test escapes its tier.

The vLLM servers (fixture ``engine``) are started (or reused when already running, e.g.
after `llmops engine up`) once per session and stopped at the end only if this session
started them. If they cannot start, every test that needs them fails with the reason
(`make engine` builds what is missing); none is skipped. The integration tier uses them
most; the cluster tier's load-test gate sends its load to them too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from llmops_infra import cluster
from llmops_infra.engine import EngineHandle, start_engines, stop_engines, wait_ready
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings, base_env
from llmops_infra.toolchain import ensure_tools, tool_env
from tests.cluster.kube import Kube
from tests.early_start import EarlyStart

TIERS = ("unit", "integration", "cluster", "node")
TESTS = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        relative = Path(str(item.path)).relative_to(TESTS)
        tier = relative.parts[0]
        if tier not in TIERS:
            raise pytest.UsageError(f"{relative}: tests must live under one of {TIERS}")
        item.add_marker(getattr(pytest.mark, tier))


# A cold start is mostly imports: about 2-3 minutes each, both at once included.
ENGINE_START_TIMEOUT_S = 600.0


@pytest.fixture(scope="session")
def engine_settings() -> LocalSettings:
    return LocalSettings()


EARLY_START = EarlyStart[EngineHandle](["engine"])


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the engine as soon as we know a test needs it, without waiting for it.

    A cold start takes minutes of mostly imports; starting at collection lets it overlap
    with the tests that run before the first one that needs it (the cluster tier).
    """
    EARLY_START.begin(session, lambda: start_engines(LocalSettings()))


@pytest.fixture(scope="session")
def engine(
    request: pytest.FixtureRequest, engine_settings: LocalSettings
) -> Iterator[EngineHandle]:
    """Both vLLM servers, ready: ``engine.url("generate")``, ``engine.url("embed")``."""
    handle: EngineHandle | None = None
    try:
        handle = EARLY_START.take(request.session, lambda: start_engines(engine_settings))
        wait_ready(handle, timeout=ENGINE_START_TIMEOUT_S)
    except LlmopsError as err:
        if handle is not None:
            stop_engines(engine_settings, names=handle.started_names)
        pytest.fail(f"this test needs the engine: {err.one_line()}", pytrace=False)
    yield handle
    if handle.started_names:
        stop_engines(engine_settings, names=handle.started_names)


# -- the local cluster, shared by the `cluster` and `node` tiers -------------------------
# Started once, from empty etcd data (or reused if it is already up and healthy), and
# stopped at the end only if this session started it. With LLMOPS_USE_EXISTING_CLUSTER=1
# the tests run against the cluster KUBECONFIG points at, provided its context is listed
# in LLMOPS_ALLOWED_CONTEXTS. If the cluster cannot start, every test that needs it fails
# with the reason; none is skipped.


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
