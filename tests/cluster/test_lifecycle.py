"""`up` is idempotent, `down` leaves nothing running, and a busy port is named."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmops_infra import cluster
from llmops_infra.cluster import lifecycle, processes
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings, base_env
from tests.cluster.kube import Kube


@pytest.fixture
def second_cluster(kube: Kube, settings: LocalSettings, tmp_path: Path) -> Iterator[LocalSettings]:
    """A second local cluster on other ports, sharing the session's built binaries."""
    offset = 7
    other = settings.model_copy(
        update={
            "cluster_name": f"second-{tmp_path.name[-6:]}",
            "etcd_client_port": settings.etcd_client_port + offset,
            "etcd_peer_port": settings.etcd_peer_port + offset,
            "apiserver_port": settings.apiserver_port + offset,
            "controller_manager_port": settings.controller_manager_port + offset,
            "scheduler_port": settings.scheduler_port + offset,
            "kwok_port": settings.kwok_port + offset,
            "kwok_nodes": 1,
            # The real node's bridge, address and name are the machine's: one per machine.
            "real_node": False,
        }
    )
    yield other
    cluster.down(other, purge=True)


def test_should_do_nothing_when_up_is_called_on_a_running_cluster(
    kube: Kube, settings: LocalSettings
) -> None:
    messages: list[str] = []
    before = {c.name: c.pid for c in cluster.status(settings).components}

    started = time.monotonic()
    state = cluster.up(settings, base_env(), report=messages.append)

    assert time.monotonic() - started < 10
    assert state.is_healthy
    assert {c.name: c.pid for c in state.components} == before
    assert sum("already running" in m for m in messages) == len(before)


def test_should_come_up_and_go_down_leaving_nothing_running(second_cluster: LocalSettings) -> None:
    started = time.monotonic()
    state = cluster.up(second_cluster, base_env())
    elapsed = time.monotonic() - started
    pids = [c.pid for c in state.components]

    stopped = cluster.down(second_cluster)

    assert state.is_healthy
    assert elapsed < 60, f"cluster up took {elapsed:.1f}s with cached binaries"
    assert all(pid is not None for pid in pids)
    assert len(stopped) == len(pids)
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids if pid)
    assert not cluster.status(second_cluster).is_healthy


def test_should_name_the_busy_port_and_the_fix(second_cluster: LocalSettings) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", second_cluster.apiserver_port))
        squatter.listen()

        with pytest.raises(LlmopsError) as err:
            cluster.up(second_cluster, base_env())

    assert err.value.piece == f"port {second_cluster.apiserver_port}"
    assert "LLMOPS_" in err.value.fix
    layout = lifecycle.build_layout(second_cluster)
    assert processes.running_pid(layout, "kube-apiserver") is None
