"""One load test end to end: check inputs and targets, run Locust, judge, write the report.

`run_loadtest` is what ``llmops loadtest run`` and ``llmops loadtest compare`` call. It raises
`LoadtestError` when the run could not happen (exit code 2) and otherwise returns an
`Outcome` whose ``passed`` decides exit code 0 or 1.
"""

from __future__ import annotations

import json
import os
import platform
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from llmops_loadtest.core.analysis import analyze
from llmops_loadtest.core.config import RunConfig, Target
from llmops_loadtest.core.gate import Gate
from llmops_loadtest.core.profile import Profile
from llmops_loadtest.core.records import RequestRecord
from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.inputs import load_gate, load_profile
from llmops_loadtest.preflight import describe_target, pick_model
from llmops_loadtest.report.html import render_html
from llmops_loadtest.report.markdown import render_markdown
from llmops_loadtest.runner import Progress, run_locust

SCHEMA = "llmops.loadtest/v1"


@dataclass(frozen=True, slots=True)
class Outcome:
    passed: bool
    headline: str
    out_dir: Path
    report: dict[str, Any]


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def build_environment(workers: int, started_at: float) -> dict[str, Any]:
    """Where the load came from: enough to tell whether two reports are comparable."""
    return {
        "started": datetime.fromtimestamp(started_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "load_generator_host": socket.gethostname(),
        "cpus": os.cpu_count(),
        "locust_workers": workers,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "locust": _version("locust"),
        "llmops": _version("llmops"),
    }


def describe_load(profile: Profile) -> str:
    fields = profile.load.model_dump(exclude={"shape"})
    return f"{profile.load.shape}: " + ", ".join(f"{k}={v}" for k, v in fields.items())


def run_loadtest(
    targets: Sequence[tuple[str, str]],
    profile_path: Path,
    gate_path: Path,
    out_dir: Path,
    *,
    workers: int = 1,
    on_progress: Callable[[Progress], None] | None = None,
) -> Outcome:
    """Run ``profile_path`` against ``targets`` (``(label, url)``; two for compare mode)."""
    if workers < 1:
        raise LoadtestError("--workers", f"must be at least 1, got {workers}")
    profile, prompt_lines = load_profile(profile_path)
    gate = load_gate(gate_path)
    if len(targets) == 2 and not gate.ratios:
        raise LoadtestError(f"gate {gate_path}", "compare mode needs 'ratios' SLOs")
    headers = profile.headers
    versions = {
        label: describe_target(url, profile.paths.models, headers) for label, url in targets
    }
    run_targets = tuple(
        Target(label=label, url=url, model=pick_model(versions[label], profile.model))
        for label, url in targets
    )
    _prepare_out_dir(out_dir)
    config = RunConfig(
        profile=profile,
        targets=run_targets,
        records_dir=(out_dir / "records").resolve(),
        meta_path=(out_dir / "run-meta.json").resolve(),
        prompt_lines=tuple(prompt_lines),
    )
    locust = run_locust(config, out_dir, workers=workers, on_progress=on_progress)
    report = build_report(
        profile,
        gate,
        records=locust.records,
        started_at=locust.started_at,
        versions=versions,
        workers=workers,
        labels=[target.label for target in run_targets],
    )
    write_report(out_dir, report, locust.records)
    verdict = report["verdict"]
    return Outcome(verdict["passed"], verdict["headline"], out_dir, report)


def build_report(
    profile: Profile,
    gate: Gate,
    *,
    records: Sequence[RequestRecord],
    started_at: float,
    versions: dict[str, Any],
    workers: int,
    labels: Sequence[str],
) -> dict[str, Any]:
    """``report.json``'s content: the analysis plus what was run, where and against what."""
    analysis = analyze(
        records,
        run_start=started_at,
        run_end=started_at + profile.duration_s,
        profile=profile,
        gate=gate,
        targets=tuple(labels),
    )
    totals = {
        label: {
            "requests": sum(1 for r in records if r.target == label),
            "successes": sum(1 for r in records if r.target == label and r.success),
            "input_tokens": sum(r.input_tokens for r in records if r.target == label and r.success),
            "output_tokens": sum(
                r.output_tokens for r in records if r.target == label and r.success
            ),
        }
        for label in labels
    }
    return {
        "schema": SCHEMA,
        "mode": "compare" if len(labels) == 2 else "run",
        "profile": profile.model_dump(mode="json"),
        "load_label": describe_load(profile),
        "gate": gate.model_dump(mode="json"),
        "environment": build_environment(workers, started_at),
        "versions": versions,
        "totals_including_excluded_windows": totals,
        **analysis,
    }


def write_report(out_dir: Path, report: dict[str, Any], records: Sequence[RequestRecord]) -> None:
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out_dir / "report.html").write_text(render_html(report, records), encoding="utf-8")
    (out_dir / "summary.md").write_text(render_markdown(report), encoding="utf-8")


def _prepare_out_dir(out_dir: Path) -> None:
    """A fresh run never mixes with an older one's records."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise LoadtestError(f"--out {out_dir}", f"cannot create: {err.strerror}") from None
    for stale in [*(out_dir / "records").glob("*.jsonl"), out_dir / "run-meta.json"]:
        stale.unlink(missing_ok=True)
