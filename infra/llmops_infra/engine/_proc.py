"""Process plumbing shared by the build and the launcher (Linux: reads /proc)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from llmops_infra.errors import LlmopsError
from llmops_infra.settings import base_env


def inherited_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """The environment for a child process: ours (`base_env`) plus `overrides`."""
    env = base_env()
    env.update(overrides)
    return env


def find_uv(tools_dir: Path) -> str:
    """uv from PATH, else the one `make` bootstraps under .tools, else next to our Python."""
    candidates = [tools_dir / "bootstrap" / "bin" / "uv", Path(sys.executable).parent / "uv"]
    found = shutil.which("uv") or next((str(c) for c in candidates if c.is_file()), None)
    if found is None:
        raise LlmopsError("uv", "not found on PATH nor in .tools/bootstrap", "make install")
    return found


def run_logged(
    command: Sequence[str], log: Path, env: Mapping[str, str], piece: str, fix: str
) -> str:
    """Run `command`, appending its output to `log`; return its stdout+stderr.

    A non-zero exit raises `LlmopsError` naming `piece` with the last output line.
    """
    with log.open("a", encoding="utf-8") as sink:
        sink.write(f"\n$ {' '.join(command)}\n")
        result = subprocess.run(
            list(command),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        sink.write(result.stdout)
    if result.returncode != 0:
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        last = lines[-1].strip() if lines else f"exit code {result.returncode}"
        raise LlmopsError(piece, f"{last} (log: {log})", fix)
    return result.stdout


def is_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not count; our own dead children are reaped)."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass  # not our child: only /proc can tell
    state = _proc_stat(pid)
    return state is not None and state[0] != "Z"


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        state = _proc_stat(int(entry.name))
        if state is not None and state[0] != "Z" and state[1] == pgid:
            members.append(int(entry.name))
    return members


def signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
        os.killpg(pgid, sig)


def command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, process group) of `pid`, or None when it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[0], int(fields[2])
