"""``summary.md``: the verdict and key numbers, for a pull request or a release note."""

from __future__ import annotations

from typing import Any

from llmops_loadtest.report.fmt import (
    KEY_METRICS,
    fmt_margin,
    fmt_observed,
    fmt_threshold,
    fmt_value,
    sweep_best,
)


def render_markdown(report: dict[str, Any]) -> str:
    verdict = report["verdict"]
    mark = "PASS" if verdict["passed"] else "FAIL"
    judged = report["judged_target"]
    lines = [
        f"## Load test `{report['profile']['name']}`: **{mark}**",
        "",
        f"{verdict['headline']}",
        "",
        _versions_line(report),
        "",
        "| SLO | observed | threshold | margin | result |",
        "|---|---|---|---|---|",
    ]
    for slo in sorted(verdict["slos"], key=lambda slo: slo["passed"]):  # failures first
        result = "pass" if slo["passed"] else "**FAIL**"
        expression = slo["expression"] + (
            " (candidate/baseline)" if slo["scope"] == "ratio" else ""
        )
        lines.append(
            f"| `{expression}` | {fmt_observed(slo)} | {fmt_threshold(slo)} "
            f"| {fmt_margin(slo)} | {result} |"
        )
    targets = list(report["targets"])
    lines += ["", "| metric | " + " | ".join(targets) + " |", "|---|" + "---|" * len(targets)]
    for key, label in KEY_METRICS:
        values = [fmt_value(key, report["targets"][t]["metrics"][key]) for t in targets]
        lines.append(f"| {label} | " + " | ".join(values) + " |")
    if report.get("ratios"):
        lines += ["", f"Candidate / baseline ratios are computed on `{judged}` vs `{targets[0]}`."]
    lines += _error_lines(report)
    if report.get("sweep"):
        text = sweep_best(report["sweep"])
        lines += ["", f"Goodput sweep: the highest rate meeting every SLO is **{text}**."]
    if report.get("ramp"):
        users = report["ramp"]["max_passing_users"]
        text = f"{users} users" if users is not None else "none of the steps"
        lines += ["", f"Step ramp: the highest concurrency meeting every SLO is **{text}**."]
    run = report["run"]
    windows = report["targets"][judged].get("requests_by_window", {})
    left_out = (
        f"; {windows['warmup']} requests left out by the warm-up, {windows['cooldown']} by "
        "the cool-down or ending after the run"
        if windows
        else ""
    )
    lines += [
        "",
        f"Measured {run['measured_window_s'][1] - run['measured_window_s'][0]:.0f} s of "
        f"{run['duration_s']:.0f} s (warm-up {run['warmup_s']:g} s and cool-down "
        f"{run['cooldown_s']:g} s excluded{left_out}). "
        "Full report: `report.html`, data: `report.json`.",
        "",
    ]
    return "\n".join(lines)


def _error_lines(report: dict[str, Any]) -> list[str]:
    """Failed requests by target and kind, each with its first message (none: no lines)."""
    rows = [
        f"| {label} | `{kind}` | {count} | {_cell(examples.get(kind, ''))} |"
        for label, target in report["targets"].items()
        for examples in [target.get("error_examples", {})]
        for kind, count in target["errors"].items()
    ]
    if not rows:
        return []
    return ["", "| failed requests | kind | count | first message |", "|---|---|---|---|", *rows]


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("`", "'") or "(none given)"


def _versions_line(report: dict[str, Any]) -> str:
    parts = []
    for label, described in report["versions"].items():
        models = ", ".join(f"`{model['id']}`" for model in described["models"])
        server = (
            f" (server {described['server_version']})" if described.get("server_version") else ""
        )
        parts.append(f"{label}: {described['url']} serving {models}{server}")
    return "Under test: " + "; ".join(parts)
