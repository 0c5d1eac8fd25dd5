"""The processes the demo starts (the gateway, the operator), and the commands it runs
(kubectl, `kubectl llmops`), each failure raised as one `LlmopsError` naming its log."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from llmops_infra.errors import LlmopsError

STOP_GRACE_S = 20.0  # the operator stops its gate run (Locust) before it exits


@dataclass
class LocalProcess:
    """A process the demo starts, in its own session (Ctrl-C reaches only the demo, which
    stops it in order), logging to ``log``."""

    name: str
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid_file(self) -> Path:
        return self.log.with_suffix(".pid")

    def start(self, argv: list[str], env: dict[str, str], marker: str) -> None:
        stop_leftover(self.pid_file, marker)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True,
            )  # fmt: skip
        self.pid_file.write_text(f"{self.process.pid}\n")

    def check(self) -> None:
        """Raise, naming the log, if the process has exited."""
        code = self.process.poll() if self.process else None
        if code is not None:
            lines = [ln for ln in self.log.read_text(errors="replace").splitlines() if ln.strip()]
            last = lines[-1].strip()[:160] if lines else "no output"
            raise LlmopsError(self.name, f"exited with code {code} ({last})", f"read {self.log}")

    def stop(self) -> bool:
        """SIGTERM (the operator stops its gate runs on the way out), SIGKILL to the whole
        group after the grace. True if it was still running."""
        if self.process is None:
            return False
        running = self.process.poll() is None
        if running:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(STOP_GRACE_S)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.pid_file.unlink(missing_ok=True)
        return running


def stop_leftover(pid_file: Path, marker: str) -> None:
    """Stop the process a killed demo left (its pid file is still here), if that pid is
    still that process (``marker`` in its command line), and its whole group."""
    try:
        pid = int(pid_file.read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError):
        pid_file.unlink(missing_ok=True)
        return
    if marker in cmdline:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
            time.sleep(2)
            os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


@dataclass(frozen=True)
class Kubectl:
    env: dict[str, str]  # the pinned tools first on PATH, KUBECONFIG set

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        done = subprocess.run(
            ["kubectl", *args], input=stdin, capture_output=True, text=True, env=self.env,
            check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
            raise LlmopsError(f"kubectl {args[0]}", lines[-1].strip())
        return done.stdout if done.returncode == 0 else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_answering(proc: LocalProcess, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc.check()
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.5)
    raise LlmopsError(
        proc.name, f"not answering on {url} after {timeout:.0f} s", f"read {proc.log}"
    )


def drop_finalizers(kubectl: Kubectl, namespace: str) -> None:
    listed = kubectl.run("get", "modeldeployments.llmops.dev", "-n", namespace, "-o", "name",
                         check=False)  # fmt: skip
    for resource in listed.split():
        kubectl.run(
            "patch", resource, "-n", namespace, "--type=merge",
            "-p", '{"metadata":{"finalizers":null}}', check=False,
        )  # fmt: skip


def plugin(kube_env: dict[str, str], *args: str) -> str:
    """`kubectl llmops ...` as kubectl runs it (the plugin's process, the same kubeconfig)."""
    done = subprocess.run(
        [sys.executable, "-m", "llmops_operator.plugin", *args],
        capture_output=True, text=True, env=kube_env, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
        raise LlmopsError(f"kubectl llmops {args[0]}", lines[-1].strip())
    return done.stdout
