"""``report.html``: one self-contained page (inline CSS and PNG plots, no script, no fetch).

Read top to bottom in a minute: the verdict banner, the SLO table, key numbers, the four
plots, then the details (percentiles, errors, sweep, versions, environment).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from llmops_loadtest.core.records import RequestRecord
from llmops_loadtest.core.stats import LATENCIES
from llmops_loadtest.report.fmt import (
    KEY_METRICS,
    fmt_margin,
    fmt_observed,
    fmt_threshold,
    fmt_value,
    sweep_best,
)
from llmops_loadtest.report.plots import PLOT_NAMES, render_plots

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}
main{max-width:1320px;margin:0 auto;padding:20px 28px}
.banner{padding:16px 22px;border-radius:8px;color:#fff;margin-bottom:14px}
.pass{background:#1a7f37}.fail{background:#cf222e}
.banner h1{margin:0;font-size:26px}.banner p{margin:4px 0 0;font-size:15px;opacity:.95}
.banner ul{margin:6px 0 0;padding-left:20px;font-size:17px;font-weight:600}
.banner .under{font-size:14px;opacity:.95}
.banner code{background:rgba(255,255,255,.22);color:#fff}
.meta{color:#57606a;margin:0 0 14px}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 18px;
margin-bottom:14px}
h2{font-size:16px;margin:4px 0 10px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid #eaeef2;
font-variant-numeric:tabular-nums}
th{color:#57606a;font-weight:600}
td.ok{color:#1a7f37;font-weight:700}td.bad{color:#cf222e;font-weight:700}
tr.bad{background:#ffebe9}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 10px;background:#fff}
.card b{display:block;font-size:20px}.card span{color:#57606a;font-size:12px}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:12px}
figure{margin:0}figure img{width:100%;height:auto;border:1px solid #eaeef2;border-radius:6px}
code{background:#eff1f3;padding:1px 4px;border-radius:4px}
details summary{cursor:pointer;font-weight:600}
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _slo_table(report: dict[str, Any]) -> str:
    rows = []
    # failed SLOs first: the reader's first question is what broke
    for slo in sorted(report["verdict"]["slos"], key=lambda slo: slo["passed"]):
        scope = " <small>(candidate/baseline)</small>" if slo["scope"] == "ratio" else ""
        klass, word = ("ok", "PASS") if slo["passed"] else ("bad", "FAIL")
        rows.append(
            f"<tr class='{klass}'><td><code>{_e(slo['expression'])}</code>{scope}</td>"
            f"<td>{_e(fmt_observed(slo))}</td><td>{_e(fmt_threshold(slo))}</td>"
            f"<td>{_e(fmt_margin(slo))}</td>"
            f'<td class="{klass}">{word}</td></tr>'
        )
    head = "<tr><th>SLO</th><th>observed</th><th>threshold</th><th>margin</th><th>result</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _cards(report: dict[str, Any]) -> str:
    judged = report["targets"][report["judged_target"]]["metrics"]
    cards = [
        f"<div class='card'><b>{_e(fmt_value(key, judged[key]))}</b><span>{_e(label)}</span></div>"
        for key, label in KEY_METRICS
    ]
    return f"<div class='cards'>{''.join(cards)}</div>"


def _percentile_table(report: dict[str, Any]) -> str:
    head = "<tr><th>target</th><th>latency</th><th>n</th>" + "".join(
        f"<th>{stat}</th>" for stat in ("p50", "p90", "p95", "p99", "mean", "max")
    )
    rows = [head + "</tr>"]
    for label, target in report["targets"].items():
        for latency in LATENCIES:
            dist = target["latency_s"][latency]
            cells = "".join(
                f"<td>{_e(fmt_value('x_s', dist[stat]))}</td>"
                for stat in ("p50", "p90", "p95", "p99", "mean", "max")
            )
            rows.append(
                f"<tr><td>{_e(label)}</td><td>{latency}</td><td>{dist['count']}</td>{cells}</tr>"
            )
    return f"<table>{''.join(rows)}</table>"


def _ratio_table(report: dict[str, Any]) -> str:
    ratios = report.get("ratios")
    if not ratios:
        return ""
    labels = list(report["targets"])
    rows = [
        "<tr><th>metric</th><th>baseline</th><th>candidate</th><th>candidate/baseline</th></tr>"
    ]
    for key, label in KEY_METRICS:
        base = report["targets"][labels[0]]["metrics"][key]
        cand = report["targets"][labels[1]]["metrics"][key]
        ratio = ratios.get(key)
        shown = f"{ratio:.3f}x" if ratio is not None else "n/a"
        rows.append(
            f"<tr><td>{_e(label)}</td><td>{_e(fmt_value(key, base))}</td>"
            f"<td>{_e(fmt_value(key, cand))}</td><td>{shown}</td></tr>"
        )
    body = "".join(rows)
    return f"<section><h2>Candidate vs baseline (interleaved)</h2><table>{body}</table></section>"


def _stages_table(report: dict[str, Any]) -> str:
    """One row per sweep rate or ramp step, each judged on its own window."""
    key = "sweep" if report.get("sweep") else "ramp" if report.get("ramp") else None
    if key is None:
        return ""
    data = report[key]
    rows = [
        "<tr><th>stage</th><th>users</th><th>req/s achieved</th><th>TTFT p95</th>"
        "<th>end-to-end p95</th><th>errors</th><th>verdict</th></tr>"
    ]
    for stage in data["stages"]:
        metrics = stage["metrics"]
        klass = "ok" if stage["verdict"]["passed"] else "bad"
        cells = [
            stage["stage"],
            stage["users"],
            *(fmt_value(name, metrics[name]) for name in
              ("requests_per_s", "ttft_p95_s", "e2e_p95_s", "error_ratio")),
        ]  # fmt: skip
        rows.append(
            f"<tr class='{klass}'>{''.join(f'<td>{_e(cell)}</td>' for cell in cells)}"
            f"<td class='{klass}'>{_e(stage['verdict']['headline'])}</td></tr>"
        )
    if key == "sweep":
        title = f"Goodput sweep: highest rate meeting every SLO: {sweep_best(data)}"
    else:
        users = data["max_passing_users"]
        title = "Step ramp: highest concurrency meeting every SLO: "
        title += f"{users} users" if users is not None else "none"
    return (
        f"<section data-section='{key}'><h2>{_e(title)}</h2>"
        f"<table>{''.join(rows)}</table></section>"
    )


def _errors(report: dict[str, Any]) -> str:
    items = [
        f"<li>{_e(label)}: {_e(kind)} &times; {count}"
        + (
            f": <code>{_e(example)}</code>"
            if (example := target.get("error_examples", {}).get(kind))
            else ""
        )
        + "</li>"
        for label, target in report["targets"].items()
        for kind, count in target["errors"].items()
    ]
    return f"<ul>{''.join(items)}</ul>" if items else "<p>No failed request.</p>"


def _banner(report: dict[str, Any]) -> str:
    """The first thing read: pass or fail, each failed SLO and by how much, and what ran."""
    verdict = report["verdict"]
    klass, word = ("pass", "PASS") if verdict["passed"] else ("fail", "FAIL")
    failed = [slo for slo in verdict["slos"] if not slo["passed"]]
    if failed:
        items = "".join(
            f"<li>{_e(slo['expression'])}: observed {_e(fmt_observed(slo))}, "
            f"{_e(fmt_margin(slo))}</li>"
            for slo in failed
        )
        detail = f"<ul>{items}</ul>"
    else:
        detail = f"<p>{_e(verdict['headline'])}</p>"
    started = report["environment"].get("started", "")
    return (
        f'<div class="banner {klass}"><h1>{word} &middot; load test '
        f"{_e(report['profile']['name'])}</h1>{detail}"
        f'<p class="under">Under test: {_versions(report)} &middot; {_e(started)}</p></div>'
    )


def _versions(report: dict[str, Any]) -> str:
    parts = []
    for label, described in report["versions"].items():
        models = ", ".join(f"<code>{_e(model['id'])}</code>" for model in described["models"])
        server = described.get("server_version")
        suffix = f" &middot; server {_e(server)}" if server else ""
        parts.append(f"<b>{_e(label)}</b> {_e(described['url'])} &middot; {models}{suffix}")
    return " &nbsp;|&nbsp; ".join(parts)


def render_html(report: dict[str, Any], records: Sequence[RequestRecord]) -> str:
    """The whole page; measured ``records`` feed the distributions (the JSON keeps summaries)."""
    run = report["run"]
    start = run["started_at"] + run["measured_window_s"][0]
    end = run["started_at"] + run["measured_window_s"][1]
    measured_records = [r for r in records if r.started_at >= start and r.ended_at <= end]
    plots = render_plots(report, measured_records)
    word = "PASS" if report["verdict"]["passed"] else "FAIL"
    sweep = report.get("sweep")
    # a sweep's verdict is one stage's; its key numbers mix every stage: say so
    slo_scope = f" (sweep: the stage at {sweep_best(sweep)})" if sweep else ""
    numbers_scope = "every sweep stage together" if sweep else "measured window"
    measured = run["measured_window_s"][1] - run["measured_window_s"][0]
    windows = report["targets"][report["judged_target"]].get("requests_by_window")
    left_out = (
        f"; requests left out: {windows['warmup']} in the warm-up, {windows['cooldown']} in "
        "the cool-down or ending after the run"
        if windows
        else ""
    )
    figures = "".join(
        f'<figure data-plot="{name}"><img alt="{name}" '
        f'src="data:image/png;base64,{plots[name]}"></figure>'
        for name in PLOT_NAMES
    )
    environment = "".join(
        f"<tr><th>{_e(key)}</th><td>{_e(value)}</td></tr>"
        for key, value in report["environment"].items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{word}: load test {_e(report["profile"]["name"])}</title>
<style>{_CSS}</style></head>
<body><main>
{_banner(report)}
<p class="meta">{run["duration_s"]:.0f} s run,
{measured:.0f} s measured (warm-up {run["warmup_s"]:g} s, cool-down {run["cooldown_s"]:g} s
excluded{_e(left_out)}) &middot; load: <code>{_e(report["load_label"])}</code></p>
<section><h2>SLOs{_e(slo_scope)}</h2>{_slo_table(report)}</section>
<section><h2>Key numbers ({_e(report["judged_target"])}, {_e(numbers_scope)})</h2>
{_cards(report)}</section>
{_ratio_table(report)}
{_stages_table(report)}
<section><h2>Plots</h2><div class="plots">{figures}</div></section>
<section><h2>Latency percentiles (successful requests, measured window)</h2>
{_percentile_table(report)}</section>
<section><h2>Errors by kind</h2>{_errors(report)}</section>
<section><details><summary>Environment</summary><table>{environment}</table></details>
</section>
</main></body></html>
"""
