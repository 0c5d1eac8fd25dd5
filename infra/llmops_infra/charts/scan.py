"""Security scan of the charts: checkov's helm framework, judged against a documented allow-list.

Run it with ``python -m llmops_infra.charts.scan`` (or ``infra/scripts/chart-scan``): it builds or
reuses checkov's tool venv (`llmops_infra.charts.toolvenv`), copies ``charts/`` to a temporary
folder (checkov runs ``helm template --dependency-update`` in place, which would write
``Chart.lock`` and ``charts/*.tgz`` into the checkout), scans every chart in one checkov run
with the pinned helm, and exits 1 on any finding that ``charts/checkov-allowlist.yaml`` does not
explain, or on an allow-list pattern that no longer matches a finding (stale).

A finding is located as ``<chart>/templates/<file>:<Kind>``: the chart that owns the template
(a subchart rendered through the umbrella counts as itself) and the kind checkov reports.

The allow-list is a list of entries, each with ``checks`` (checkov ids), ``where`` (fnmatch
patterns over locations) and a ``reason``. checkov leaves a chart out with only a log line
when ``helm template`` fails, so a chart that yields no result at all is an error here.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llmops_infra.charts.layout import CHARTS_DIR
from llmops_infra.charts.toolvenv import CHECKOV, ensure_tool_venv
from llmops_infra.charts.values import merge_values
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings, base_env

ALLOWLIST_PATH = CHARTS_DIR / "checkov-allowlist.yaml"
_SCAN_TIMEOUT_S = 600


@dataclass(frozen=True)
class Finding:
    """One failed checkov check on one rendered object."""

    check_id: str
    check_name: str
    template: str
    """``<chart>/templates/<file>``, e.g. ``milvus/templates/statefulset.yaml``."""
    kind: str

    @property
    def chart(self) -> str:
        return self.template.split("/", 1)[0]

    @property
    def location(self) -> str:
        return f"{self.template}:{self.kind}"

    def one_line(self) -> str:
        return f"{self.check_id} {self.location}: {self.check_name}"


@dataclass(frozen=True)
class AllowEntry:
    checks: tuple[str, ...]
    where: tuple[str, ...]
    reason: str

    def explains(self, finding: Finding) -> bool:
        return finding.check_id in self.checks and any(
            fnmatch.fnmatchcase(finding.location, pattern) for pattern in self.where
        )


@dataclass(frozen=True)
class Verdict:
    findings: tuple[Finding, ...]
    unexplained: tuple[Finding, ...]
    stale: tuple[str, ...]
    """``<check> <pattern>`` pairs of the allow-list that match no finding."""

    @property
    def ok(self) -> bool:
        return not self.unexplained and not self.stale


def parse_allowlist(data: object, source: str = str(ALLOWLIST_PATH)) -> list[AllowEntry]:
    """Entries of the allow-list; each needs checks, where patterns and a reason."""
    if not isinstance(data, list):
        raise LlmopsError(source, "must be a list of {checks, where, reason} entries")
    entries = []
    for i, raw in enumerate(data):
        if not isinstance(raw, dict) or set(raw) != {"checks", "where", "reason"}:
            raise LlmopsError(source, f"entry {i} must have exactly checks, where and reason")
        checks, where, reason = raw["checks"], raw["where"], raw["reason"]
        if not (_str_list(checks) and _str_list(where) and isinstance(reason, str)):
            raise LlmopsError(source, f"entry {i}: checks and where are lists of strings")
        if not reason.strip():
            raise LlmopsError(source, f"entry {i} ({', '.join(checks)}) gives no reason")
        entries.append(AllowEntry(tuple(checks), tuple(where), reason.strip()))
    return entries


def _str_list(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def load_allowlist(path: Path = ALLOWLIST_PATH) -> list[AllowEntry]:
    return parse_allowlist(yaml.safe_load(path.read_text()), str(path))


def _template_of(file_path: str) -> str:
    """``/llmops-stack/charts/milvus/templates/x.yaml`` -> ``milvus/templates/x.yaml``."""
    parts = file_path.strip("/").split("/")
    while len(parts) > 2 and parts[1] == "charts":  # a subchart: name it by itself
        parts = parts[2:]
    return "/".join(parts)


def parse_report(text: str) -> tuple[list[Finding], set[str]]:
    """checkov's JSON report -> (failed checks, charts that produced any result)."""
    data: Any = json.loads(text)
    reports = data if isinstance(data, list) else [data]
    findings, charts = [], set()
    for report in reports:
        if not isinstance(report, dict) or "results" not in report:
            continue  # checkov prints a bare summary when a framework found nothing
        results = report["results"]
        for result in results.get("passed_checks", []) + results.get("failed_checks", []):
            charts.add(_template_of(result["file_path"]).split("/", 1)[0])
        for result in results.get("failed_checks", []):
            findings.append(
                Finding(
                    check_id=result["check_id"],
                    check_name=result["check_name"],
                    template=_template_of(result["file_path"]),
                    kind=result["resource"].split(".", 1)[0],
                )
            )
    return findings, charts


def judge(findings: Sequence[Finding], allowlist: Sequence[AllowEntry]) -> Verdict:
    """Which findings the allow-list does not explain, and which of its patterns are stale.

    A subchart is scanned alone and through the umbrella; its findings count once.
    """
    findings = sorted(set(findings), key=lambda f: (f.check_id, f.location))
    unexplained = [f for f in findings if not any(e.explains(f) for e in allowlist)]
    stale = [
        f"{check} {pattern}"
        for entry in allowlist
        for check in entry.checks
        for pattern in entry.where
        if not any(
            f.check_id == check and fnmatch.fnmatchcase(f.location, pattern) for f in findings
        )
    ]
    return Verdict(tuple(findings), tuple(unexplained), tuple(stale))


def chart_names(charts_dir: Path = CHARTS_DIR) -> list[str]:
    return sorted(p.parent.name for p in charts_dir.glob("*/Chart.yaml"))


def _apply_overrides(copy: Path, overrides: Mapping[str, dict[str, Any]]) -> None:
    """Keep only the overridden charts in ``copy``, their values.yaml merged with the override
    (checkov renders a chart with its values.yaml only)."""
    for chart_dir in [p.parent for p in copy.glob("*/Chart.yaml")]:
        if chart_dir.name not in overrides:
            shutil.rmtree(chart_dir)
            continue
        values_file = chart_dir / "values.yaml"
        values = yaml.safe_load(values_file.read_text()) or {}
        values_file.write_text(yaml.safe_dump(merge_values(values, overrides[chart_dir.name])))


def run_checkov(
    settings: LocalSettings,
    env: Mapping[str, str],
    charts_dir: Path,
    overrides: Mapping[str, dict[str, Any]] | None = None,
) -> str:
    """checkov's JSON report over every chart in ``charts_dir`` (offline, pinned helm), or over
    the charts of ``overrides`` only, each with its override merged into its defaults."""
    helm = settings.bin_dir / "helm"
    if not helm.is_file():
        raise LlmopsError("helm", f"not found at {helm}", "run `llmops tools install`")
    python = ensure_tool_venv(CHECKOV, settings, env)
    with tempfile.TemporaryDirectory(prefix="llmops-scan-") as tmp:
        copy = Path(tmp) / "charts"
        shutil.copytree(
            charts_dir, copy, ignore=shutil.ignore_patterns("*.tgz", "Chart.lock", ".git")
        )
        shutil.rmtree(copy / "llmops-stack" / "charts", ignore_errors=True)
        if overrides is not None:
            _apply_overrides(copy, overrides)
        scan_env = {
            **env,
            "PATH": os.pathsep.join([str(settings.bin_dir.absolute()), env.get("PATH", "")]),
            # A private helm home: `helm dependency update` refreshes every configured repo.
            "HELM_CONFIG_HOME": f"{tmp}/helm/config",
            "HELM_CACHE_HOME": f"{tmp}/helm/cache",
            "HELM_DATA_HOME": f"{tmp}/helm/data",
            "BC_SKIP_MAPPING": "TRUE",
        }
        command = [str(python.parent / "checkov"), "--framework", "helm", "-d", str(copy)]
        command += ["--compact", "--soft-fail", "--skip-download", "-o", "json"]
        result = subprocess.run(
            command,
            env=scan_env,
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
            timeout=_SCAN_TIMEOUT_S,
        )
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit code {result.returncode}"]
        raise LlmopsError("checkov", lines[-1], f"see {python.parent / 'checkov'} --help")
    return result.stdout


def scan(
    settings: LocalSettings,
    env: Mapping[str, str],
    charts_dir: Path = CHARTS_DIR,
    overrides: Mapping[str, dict[str, Any]] | None = None,
) -> Verdict:
    """Scan every chart (or those of ``overrides``, with non-default values) and judge the
    findings against ``charts_dir/checkov-allowlist.yaml``. With overrides, `Verdict.stale`
    means little: an entry may match only a chart or a default that was not scanned."""
    findings, scanned = parse_report(run_checkov(settings, env, charts_dir, overrides))
    expected = set(overrides) if overrides is not None else set(chart_names(charts_dir))
    missing = sorted(expected - scanned)
    if missing:
        raise LlmopsError(
            "checkov", f"produced no result for {', '.join(missing)}", "run `helm lint` on it"
        )
    return judge(findings, load_allowlist(charts_dir / ALLOWLIST_PATH.name))


def main() -> int:
    try:
        verdict = scan(LocalSettings(), base_env())
    except LlmopsError as err:
        print(err.one_line(), file=sys.stderr)  # noqa: T201
        return 2
    for finding in verdict.unexplained:
        print(f"unexplained: {finding.one_line()}")  # noqa: T201
    for pattern in verdict.stale:
        print(f"stale allow-list pattern: {pattern}")  # noqa: T201
    explained = len(verdict.findings) - len(verdict.unexplained)
    print(  # noqa: T201
        f"checkov {CHECKOV.version}: {len(verdict.findings)} findings, {explained} explained by "
        f"{ALLOWLIST_PATH.name}, {len(verdict.unexplained)} unexplained, "
        f"{len(verdict.stale)} stale allow-list patterns"
    )
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
