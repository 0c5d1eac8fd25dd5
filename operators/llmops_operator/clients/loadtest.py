"""Runs the load-test gate as a local process and reports its verdict.

Contract: the command (``OperatorSettings.loadtest_command``) exits 0 when the report's
verdict passes; its report lands at ``{report}``. Runs live in this process: a restarted
operator no longer sees them, and the machine starts the gate again (same name).
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from llmops_operator.core.decision import LoadTestObservation, LoadTestRequest
from llmops_operator.core.spec import parse_duration
from llmops_operator.core.status import LoadTestVerdict


class ProcessLoadTestRunner:
    def __init__(self, command: str, report_dir: str) -> None:
        self.command = command
        self.report_dir = Path(report_dir)
        self._runs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
        self._done: dict[str, LoadTestObservation] = {}  # stderr can be read only once

    def start(self, request: LoadTestRequest, key: str, target: str) -> None:
        if key in self._runs:
            return
        self.report_dir.mkdir(parents=True, exist_ok=True)
        report = self.report_dir / f"{key}.json"
        argv = [
            part.format(
                profile=request.spec.profile,
                target=target,
                users=request.spec.users,
                duration=parse_duration(request.spec.duration),
                report=report,
                role=request.role,
            )
            for part in shlex.split(self.command)
        ]
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._runs[key] = (process, report)

    def observe(self, name: str, key: str) -> LoadTestObservation | None:
        if key in self._done:
            return self._done[key]
        run = self._runs.get(key)
        if run is None:
            return None
        process, report = run
        code = process.poll()
        if code is None:
            return LoadTestObservation(name, LoadTestVerdict.RUNNING)
        stderr = (process.stderr.read() if process.stderr else b"").decode(errors="replace")
        verdict = LoadTestVerdict.PASSED if code == 0 else LoadTestVerdict.FAILED
        message = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit code {code}"
        self._done[key] = LoadTestObservation(name, verdict, report.as_uri(), message)
        return self._done[key]
