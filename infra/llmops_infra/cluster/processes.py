"""Start and stop the control-plane processes, tracked by pid files.

Each component runs in its own session (process group), detached from the terminal, so
`llmops cluster up` can return while the cluster keeps running, and `down` can end a
component together with anything it spawned.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from llmops_infra.cluster.spec import Layout, ProcessSpec
from llmops_infra.errors import LlmopsError


def read_pidfile(pidfile: Path) -> tuple[int, str] | None:
    """``(pid, binary)`` as written by `start`; the binary guards against pid reuse."""
    try:
        pid, binary = pidfile.read_text().strip().split(" ", 1)
        return int(pid), binary
    except (FileNotFoundError, ValueError):
        return None


def is_running(pid: int, binary: str) -> bool:
    """True when `pid` is alive and is the binary we started (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if not cmdline or cmdline[0].decode(errors="replace") != binary:
        return False
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[-1].split()[0] != "Z"  # not a zombie


def running_pid(layout: Layout, name: str) -> int | None:
    """The pid of component `name` if it is running (per its pid file)."""
    recorded = read_pidfile(layout.pidfile(name))
    if recorded is None:
        return None
    pid, binary = recorded
    return pid if is_running(pid, binary) else None


def is_port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def start(layout: Layout, spec: ProcessSpec, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start one component in the background and record its pid.

    The caller watches the returned process while it starts: right after the fork,
    /proc shows no command line yet, so the pid file cannot tell "starting" from "gone".
    """
    if not is_port_free(spec.port):
        raise LlmopsError(
            f"port {spec.port}",
            f"is in use, so {spec.name} cannot listen on it",
            f"stop what holds it (`ss -ltnp 'sport = :{spec.port}'`) or choose another port "
            "with the LLMOPS_*_PORT settings",
        )
    log = layout.log(spec.name)
    log.parent.mkdir(parents=True, exist_ok=True)
    layout.pidfile(spec.name).parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {spec.name}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            spec.argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env),
            start_new_session=True,
        )
    layout.pidfile(spec.name).write_text(f"{proc.pid} {spec.argv[0]}\n")
    return proc


def stop(layout: Layout, name: str, grace_s: float = 10.0) -> bool:
    """Stop component `name` (TERM, then KILL after `grace_s`). True if it was running."""
    pidfile = layout.pidfile(name)
    recorded = read_pidfile(pidfile)
    if recorded is None or not is_running(*recorded):
        pidfile.unlink(missing_ok=True)
        return False
    pid, binary = recorded
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and is_running(pid, binary):
        time.sleep(0.1)
    if is_running(pid, binary):
        _signal_group(pid, signal.SIGKILL)
        while is_running(pid, binary):
            time.sleep(0.05)
    _reap(pid)
    pidfile.unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _reap(pid: int, timeout_s: float = 5.0) -> None:
    """Wait for a component that is a child of this very process (tests start the cluster
    in-process), or it lingers as a zombie. A Go program's main thread turns zombie before
    its other threads are gone, and cannot be reaped until they are: hence the loop."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            reaped, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return  # not our child (started by another `llmops` call): init reaps it
        if reaped:
            return
        time.sleep(0.02)


def wait_healthy(
    layout: Layout,
    component: ProcessSpec,
    proc: subprocess.Popen[bytes],
    probe: Callable[[], tuple[bool, str]],
    timeout_s: float,
) -> None:
    """Wait until `probe` says `component` is healthy; fail with its log if it exits first
    or stays unhealthy past `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    detail = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LlmopsError(
                component.name,
                f"exited while starting: {log_tail(layout.log(component.name))}",
                f"see {layout.log(component.name)}",
            )
        ok, detail = probe()
        if ok:
            return
        time.sleep(0.25)
    raise LlmopsError(
        component.name,
        f"not healthy after {timeout_s:.0f}s ({detail}): {log_tail(layout.log(component.name))}",
        f"see {layout.log(component.name)}",
    )


def log_tail(path: Path, lines: int = 3) -> str:
    """The last meaningful lines of a component's log, for one-line error messages."""
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return "no log written"
    useful = [line.strip() for line in text if line.strip() and not line.startswith("===")]
    return " | ".join(useful[-lines:]) or "empty log"
