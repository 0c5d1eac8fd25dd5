"""Runs load-test gates as child processes and reports their verdicts.

Each run is ``python -m llmops_loadtest run`` (the same command as the load-test Job), or
``... eval gate`` for an evaluation step (the plan's ``command``), with the profile and gate
files `core.manifests.loadtest_plan.plan_load_test` (or `evaluation_plan`) wrote, in
``<report_dir>/<key>/``. The verdict and its headline come from the run's ``report.json``
(no report: the run could not happen, and the log's last line says why). The link in status
is the MLflow run the report was logged to, else the local ``report.html`` (else the log).

Runs live in this process: a restarted operator no longer sees them, and the state machine
starts the gate again under the same name. A run past its time limit is killed and fails;
`cancel` stops the runs a rollback, abort or new revision made pointless.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import yaml

from llmops_contracts.release import EVALUATIONS_KEY, EvaluationRecord, parse_evaluation_records
from llmops_operator.core.manifests.loadtest_plan import LoadTestPlan
from llmops_operator.core.rollout.interface import LoadTestObservation
from llmops_operator.core.state.status import LoadTestVerdict

MLFLOW_LINE = "MLflow run: "  # what `llmops loadtest run` prints once the run is logged


class LoadTestRunner(Protocol):
    """What the handlers need of a gate runner (this module's, or `loadtest_job`'s Jobs)."""

    def start(self, key: str, name: str, plan: LoadTestPlan) -> None: ...
    def refuse(self, key: str, name: str, message: str) -> None: ...
    def observe(self, name: str, key: str) -> LoadTestObservation | None: ...
    def cancel(self, prefix: str, keep: str | None = None) -> list[str]: ...
    def close(self) -> None: ...


@dataclass
class _Run:
    name: str
    process: subprocess.Popen[bytes]
    folder: Path
    deadline: float
    timeout_s: float


class ProcessLoadTestRunner:
    def __init__(self, report_dir: str, python: str = sys.executable) -> None:
        self.report_dir = Path(report_dir)
        self.python = python
        self._runs: dict[str, _Run] = {}
        self._done: dict[str, LoadTestObservation] = {}

    def start(self, key: str, name: str, plan: LoadTestPlan) -> None:
        """Start run ``key`` unless it is running or has finished in this process."""
        if key in self._runs or key in self._done:
            return
        folder = self.report_dir / key
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "profile.yaml").write_text(yaml.safe_dump(plan.profile, sort_keys=False))
        (folder / "gate.yaml").write_text(yaml.safe_dump(plan.gate, sort_keys=False))
        argv = [
            self.python, "-m", "llmops_loadtest", *plan.command,
            "--target", plan.target,
            "--profile", str(folder / "profile.yaml"),
            "--gate", str(folder / "gate.yaml"),
            "--out", str(folder / "report"),
        ]  # fmt: skip
        if plan.mlflow is not None:
            argv += ["--mlflow-uri", plan.mlflow[0], "--mlflow-model", plan.mlflow[1]]
        with (folder / "run.log").open("wb") as log:
            process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Locust's own children are killed with it
                env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
            )
        self._runs[key] = _Run(
            name, process, folder, time.monotonic() + plan.timeout_s, plan.timeout_s
        )

    def refuse(self, key: str, name: str, message: str) -> None:
        """Record a run that cannot start (e.g. a profile that needs the gateway) as failed."""
        self._done[key] = LoadTestObservation(name, LoadTestVerdict.FAILED, "", message)

    def observe(self, name: str, key: str) -> LoadTestObservation | None:
        """The run's verdict; ``None`` when this process never started it."""
        if key in self._done:
            return self._done[key]
        run = self._runs.get(key)
        if run is None:
            return None
        code = run.process.poll()
        if code is None:
            if time.monotonic() < run.deadline:
                return LoadTestObservation(name, LoadTestVerdict.RUNNING)
            _stop(run.process)
            observation = LoadTestObservation(
                name,
                LoadTestVerdict.FAILED,
                (run.folder / "run.log").as_uri(),
                f"did not finish within {run.timeout_s:g} s (duration + grace); stopped",
            )
        else:
            observation = _finished(name, run, code)
        del self._runs[key]
        self._done[key] = observation
        return observation

    def cancel(self, prefix: str, keep: str | None = None) -> list[str]:
        """Stop and forget every run whose key starts with ``prefix`` except ``keep``."""
        stopped = []
        for key in [k for k in self._runs if k.startswith(prefix) and k != keep]:
            _stop(self._runs.pop(key).process)
            stopped.append(key)
        for key in [k for k in self._done if k.startswith(prefix) and k != keep]:
            del self._done[key]
        return stopped

    def close(self) -> None:
        """Stop every run (the operator is shutting down)."""
        self.cancel("")


def _finished(name: str, run: _Run, code: int) -> LoadTestObservation:
    """The verdict is the report's (exit code 2 after a report means only the MLflow upload
    failed: the gate was still judged); no report means the run could not happen."""
    report_json = run.folder / "report" / "report.json"
    report_html = run.folder / "report" / "report.html"
    log = run.folder / "run.log"
    lines = [line.strip() for line in _tail(log).splitlines() if line.strip()]
    try:
        verdict = json.loads(report_json.read_text())["verdict"]
        passed, headline = bool(verdict["passed"]), str(verdict["headline"])
    except (OSError, ValueError, KeyError, TypeError):
        reason = lines[-1] if lines else f"exit code {code}"
        return LoadTestObservation(
            name, LoadTestVerdict.FAILED, log.as_uri(), f"could not run (exit {code}): {reason}"
        )
    url = (report_html if report_html.is_file() else report_json).as_uri()
    logged = next((ln.removeprefix(MLFLOW_LINE) for ln in lines if ln.startswith(MLFLOW_LINE)), "")
    if logged:
        url = logged.strip()
    elif code == 2 and lines:
        headline += f" (report not logged to MLflow: {lines[-1]})"
    verdict_value = LoadTestVerdict.PASSED if passed else LoadTestVerdict.FAILED
    records_file = run.folder / "report" / EVALUATIONS_KEY
    records_text = records_file.read_text() if records_file.is_file() else None
    records, problem = read_evaluation_records(records_text)
    return LoadTestObservation(name, verdict_value, url, headline + problem, records)


def read_evaluation_records(text: str | None) -> tuple[tuple[EvaluationRecord, ...], str]:
    """An evaluation gate's records (none for a load test), and a note for the headline when
    they cannot be read: the verdict stands, the release manifest will lack them."""
    if text is None:
        return (), ""
    try:
        return tuple(parse_evaluation_records(text)), ""
    except ValueError as err:  # pydantic's ValidationError is one
        first = str(err).splitlines()[0]
        return (), f" (its {EVALUATIONS_KEY} is unreadable, not in the release manifest: {first})"


def _tail(path: Path, size: int = 4000) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - size))
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


def _stop(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM the run's whole process group (Locust's children too); SIGKILL what is left
    after ``grace_s``."""
    deadline = time.monotonic() + grace_s
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    while time.monotonic() < deadline and _group_alive(process):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _group_alive(process: subprocess.Popen[bytes]) -> bool:
    process.poll()  # reap the leader once it exits, or the group looks alive forever
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True
