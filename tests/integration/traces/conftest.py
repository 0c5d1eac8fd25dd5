"""The trace store and a traced vLLM server for this folder's tests, started early.

A vLLM server takes from ~40 s (an idle machine) to minutes (a busy one) to start, mostly
imports. As the engine fixture does (tests/conftest.py), both are started as soon as
collection shows a test that needs them, so that start overlaps the tests that run first;
the fixtures then wait for them. What this session started is stopped when this folder's last
test ends (package scope: in a full run it had held 8 GB, 5.3 of them vLLM's worker, until the
session's end, through the node tier that needs that memory for its pods), or at the session's
end if no test used them (e.g. a run stopped early by ``-x``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from tempfile import mkdtemp

import pytest

from llmops_infra.engine import EngineHandle, RunningServer, start_server, stop_server, wait_ready
from llmops_infra.engine.layout import engine_layout
from llmops_infra.engine.servers import build_server_specs
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings, base_env
from llmops_infra.traces import (
    TracePorts,
    TracesHandle,
    config_dir,
    ensure_trace_binaries,
    start_traces,
    stop_traces,
    wait_traces_ready,
)
from tests.early_start import EarlyStart
from tests.integration.gateway.procs import free_port

TRACED_SERVER = "generate-traced"


@dataclass
class Started:
    runs: Path
    store: TracesHandle | None = None
    server: RunningServer | None = None
    stopped: bool = False

    def stop(self, settings: LocalSettings) -> None:
        if self.stopped:
            return
        self.stopped = True
        if self.server is not None:
            stop_server(settings, self.server)
        stop_traces(self.runs)


EARLY = EarlyStart[Started](["trace_store", "traced_generate"])


def _start(settings: LocalSettings) -> Started:
    """Collector and Jaeger on free ports, then a generate server exporting to them."""
    binaries = ensure_trace_binaries(settings, base_env())  # cached: instant once built
    started = Started(runs=Path(mkdtemp(prefix="llmops-traces-")))
    try:
        ports = TracePorts(*(free_port() for _ in range(6)))
        started.store = start_traces(binaries.bin_dir, config_dir(settings), started.runs, ports)
        layout = engine_layout(settings.cache_dir)
        shared, _ = build_server_specs(layout.gemma_dir, Path("-"), free_port(), 0)
        spec = dataclasses.replace(
            shared, name=TRACED_SERVER, otlp_traces_endpoint=ports.otlp_grpc_url
        )
        started.server = start_server(settings, spec)
    except LlmopsError:
        started.stop(settings)
        raise
    return started


def pytest_collection_finish(session: pytest.Session) -> None:
    EARLY.begin(session, lambda: _start(LocalSettings()))


def pytest_sessionfinish(session: pytest.Session) -> None:
    early = EARLY.started(session)
    if early is not None:
        early.stop(LocalSettings())


@pytest.fixture(scope="package")
def _started(request: pytest.FixtureRequest, engine_settings: LocalSettings) -> Iterator[Started]:
    try:
        started = EARLY.take(request.session, lambda: _start(engine_settings))
    except LlmopsError as err:
        pytest.fail(f"the trace tests need the trace store: {err.one_line()}", pytrace=False)
    yield started
    started.stop(engine_settings)


@pytest.fixture(scope="package")
def trace_store(_started: Started) -> TracesHandle:
    """The collector and Jaeger, ready (`trace_store.ports` says where)."""
    assert _started.store is not None
    try:
        wait_traces_ready(_started.store)
    except LlmopsError as err:
        pytest.fail(f"the trace store did not start: {err.one_line()}", pytrace=False)
    return _started.store


@pytest.fixture(scope="package")
def traced_generate(_started: Started, trace_store: TracesHandle) -> str:
    """The OpenAI base URL of a generate server of this session's own that exports its
    spans (vLLM's ``--otlp-traces-endpoint``) to the trace store's collector."""
    assert _started.server is not None
    try:
        wait_ready(EngineHandle((_started.server,)), timeout=600)
    except LlmopsError as err:
        pytest.fail(f"the traced vLLM server did not start: {err.one_line()}", pytrace=False)
    return f"{_started.server.spec.base_url}/v1"
