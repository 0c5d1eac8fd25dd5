"""Start, watch and stop the local collector and Jaeger as background processes.

Both listen on loopback only (the configs, ``charts/llmops-stack/files/otel/``, default to
127.0.0.1).
Stored state (under a run folder, ``<cache>/traces/run/`` for `llmops traces up`):
``<name>.pid`` holds the pid of the process (its own session, so stopping it leaves
nothing behind) and ``<name>.log`` its output. A pid file whose process is gone, or is no
longer that binary, counts as stopped. The pure part (`build_process_specs`) decides the
command lines and environments; the rest runs them.
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
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings

HOST = "127.0.0.1"
COLLECTOR = "otelcol"
JAEGER = "jaeger"
TraceState = Literal["stopped", "starting", "ready"]
_POLL_S = 0.3
_STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class TracePorts:
    """The ports of the trace pipeline (all on loopback)."""

    collector_grpc: int = 4317
    collector_http: int = 4318
    jaeger_otlp_grpc: int = 14317
    jaeger_otlp_http: int = 14318
    jaeger_query: int = 16686
    jaeger_query_grpc: int = 16685

    @property
    def otlp_http_traces_url(self) -> str:
        """Where an OTLP/HTTP exporter sends spans (the gateway's and the operator's)."""
        return f"http://{HOST}:{self.collector_http}/v1/traces"

    @property
    def otlp_grpc_url(self) -> str:
        """Where an OTLP/gRPC exporter sends spans (vLLM's ``--otlp-traces-endpoint``)."""
        return f"http://{HOST}:{self.collector_grpc}"

    @property
    def query_url(self) -> str:
        """Jaeger's query API and UI (``/api/traces/<id>``, ``/search``)."""
        return f"http://{HOST}:{self.jaeger_query}"


def trace_ports(settings: LocalSettings) -> TracePorts:
    return TracePorts(
        collector_grpc=settings.otelcol_grpc_port,
        collector_http=settings.otelcol_http_port,
        jaeger_otlp_grpc=settings.jaeger_otlp_grpc_port,
        jaeger_otlp_http=settings.jaeger_otlp_http_port,
        jaeger_query=settings.jaeger_query_port,
        jaeger_query_grpc=settings.jaeger_query_grpc_port,
    )


@dataclass(frozen=True)
class ProcessSpec:
    """One process of the pipeline: its command line, its environment, its ready check."""

    name: str
    command: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    # Ready when this port accepts connections (and, for Jaeger, its query API answers).
    ready_port: int


def build_process_specs(
    bin_dir: Path, config_dir: Path, ports: TracePorts
) -> tuple[ProcessSpec, ProcessSpec]:
    """Jaeger, then the collector that exports to it (pure).

    Both binaries take a collector-style ``--config``; the ports reach the configs through
    the environment variables those files read.
    """
    jaeger = ProcessSpec(
        name=JAEGER,
        command=(str(bin_dir / JAEGER), "--config", f"file:{config_dir / 'jaeger.yaml'}"),
        env=(
            ("LLMOPS_JAEGER_HOST", HOST),
            ("LLMOPS_JAEGER_OTLP_GRPC_PORT", str(ports.jaeger_otlp_grpc)),
            ("LLMOPS_JAEGER_OTLP_HTTP_PORT", str(ports.jaeger_otlp_http)),
            ("LLMOPS_JAEGER_QUERY_PORT", str(ports.jaeger_query)),
            ("LLMOPS_JAEGER_QUERY_GRPC_PORT", str(ports.jaeger_query_grpc)),
        ),
        ready_port=ports.jaeger_query,
    )
    collector = ProcessSpec(
        name=COLLECTOR,
        command=(str(bin_dir / COLLECTOR), "--config", f"file:{config_dir / 'collector.yaml'}"),
        env=(
            ("LLMOPS_OTELCOL_HOST", HOST),
            ("LLMOPS_OTELCOL_GRPC_PORT", str(ports.collector_grpc)),
            ("LLMOPS_OTELCOL_HTTP_PORT", str(ports.collector_http)),
            ("LLMOPS_JAEGER_OTLP_ENDPOINT", f"{HOST}:{ports.jaeger_otlp_grpc}"),
        ),
        ready_port=ports.collector_http,
    )
    return jaeger, collector


@dataclass(frozen=True)
class RunningProcess:
    spec: ProcessSpec
    pid: int
    log: Path
    started: bool  # False: it was already running (from this run folder)


@dataclass(frozen=True)
class TracesHandle:
    processes: tuple[RunningProcess, ...]
    ports: TracePorts

    @property
    def started_names(self) -> list[str]:
        return [p.spec.name for p in self.processes if p.started]


@dataclass(frozen=True)
class TraceStatus:
    name: str
    state: TraceState
    pid: int | None
    port: int
    log: Path


def config_dir(settings: LocalSettings) -> Path:
    """The collector's and Jaeger's configs: the umbrella chart ships the same files."""
    return settings.repo_root / "charts" / "llmops-stack" / "files" / "otel"


def run_dir(settings: LocalSettings) -> Path:
    return settings.cache_dir / "traces" / "run"


def start_traces(bin_dir: Path, configs: Path, runs: Path, ports: TracePorts) -> TracesHandle:
    """Start Jaeger and the collector in the background; reuse ones already running.

    Raises `LlmopsError` when a binary is missing or a port is taken by something else.
    """
    runs.mkdir(parents=True, exist_ok=True)
    started: list[RunningProcess] = []
    try:
        for spec in build_process_specs(bin_dir, configs, ports):
            started.append(_start_one(spec, runs))
    except LlmopsError:
        stop_traces(runs, names=[p.spec.name for p in started if p.started])
        raise
    return TracesHandle(tuple(started), ports)


def wait_traces_ready(handle: TracesHandle, timeout: float = 30.0) -> None:
    """Block until both answer; a process that exits meanwhile raises with its log's tail."""
    deadline = time.monotonic() + timeout
    waiting = list(handle.processes)
    with httpx.Client(timeout=2.0) as client:
        while waiting:
            for process in list(waiting):
                if _is_ready(client, process.spec, handle.ports):
                    waiting.remove(process)
                elif not _proc.is_alive(process.pid):
                    raise _died(process)
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise LlmopsError(
                    f"trace {waiting[0].spec.name}",
                    f"not ready after {timeout:.0f} s (log: {waiting[0].log})",
                    "read the log; llmops traces down, then up",
                )
            time.sleep(_POLL_S)


def stop_traces(runs: Path, names: list[str] | None = None) -> list[str]:
    """Stop the processes named (both by default); returns the names that were running."""
    stopped = []
    for name in (COLLECTOR, JAEGER):
        if names is not None and name not in names:
            continue
        pid = _running_pid(runs, name)
        if pid is not None:
            _kill_group(pid)
            stopped.append(name)
        (runs / f"{name}.pid").unlink(missing_ok=True)
    return stopped


def traces_status(runs: Path, ports: TracePorts) -> list[TraceStatus]:
    """Each process: stopped, starting (alive, not answering) or ready."""
    statuses = []
    specs = build_process_specs(Path("-"), Path("-"), ports)
    with httpx.Client(timeout=2.0) as client:
        for spec in specs:
            pid = _running_pid(runs, spec.name)
            state: TraceState = "stopped"
            if pid is not None:
                state = "ready" if _is_ready(client, spec, ports) else "starting"
            statuses.append(
                TraceStatus(spec.name, state, pid, spec.ready_port, runs / f"{spec.name}.log")
            )
    return statuses


# -- internals ---------------------------------------------------------------------------


def _start_one(spec: ProcessSpec, runs: Path) -> RunningProcess:
    log = runs / f"{spec.name}.log"
    pid = _running_pid(runs, spec.name)
    if pid is not None:
        return RunningProcess(spec, pid, log, started=False)
    binary = Path(spec.command[0])
    if not binary.is_file():
        raise LlmopsError(spec.name, f"not built at {binary}", "llmops traces build")
    if _port_taken(spec.ready_port):
        raise LlmopsError(
            f"port {spec.ready_port}",
            f"in use by a process that is not this {spec.name}",
            "stop it, or set the LLMOPS_*_PORT of that port (see llmops traces status)",
        )
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            list(spec.command),
            env=_proc.inherited_env(dict(spec.env)),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=runs,
            start_new_session=True,
        )
    (runs / f"{spec.name}.pid").write_text(f"{process.pid}\n", encoding="utf-8")
    return RunningProcess(spec, process.pid, log, started=True)


def _running_pid(runs: Path, name: str) -> int | None:
    try:
        pid = int((runs / f"{name}.pid").read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    command = _proc.command_line(pid)
    if _proc.is_alive(pid) and command and Path(command[0]).name == name:
        return pid
    return None


def _is_ready(client: httpx.Client, spec: ProcessSpec, ports: TracePorts) -> bool:
    if not _port_taken(spec.ready_port):
        return False
    if spec.name != JAEGER:
        return True
    try:
        return client.get(f"{ports.query_url}/api/services").status_code == 200
    except httpx.HTTPError:
        return False


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((HOST, port)) == 0


def _died(process: RunningProcess) -> LlmopsError:
    try:
        lines = process.log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    errors = [line for line in lines if "error" in line.lower()] or lines
    tail = " | ".join(line.strip() for line in errors[-2:]) or "no output"
    return LlmopsError(
        f"trace {process.spec.name}",
        f"exited during start-up: {tail} (log: {process.log})",
        "read the log; a config error names the key that is wrong",
    )


def _kill_group(pgid: int) -> None:
    for sig, grace in ((signal.SIGTERM, _STOP_GRACE_S), (signal.SIGKILL, 5.0)):
        _proc.signal_group(pgid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            _proc.is_alive(pgid)
            if not _proc.group_members(pgid):
                return
            time.sleep(0.1)
    raise LlmopsError(f"process group {pgid}", "survived SIGKILL", f"kill -9 -- -{pgid}")
