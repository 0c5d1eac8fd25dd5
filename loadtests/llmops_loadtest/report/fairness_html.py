"""The fairness report page: one plot (per-group scores of every attribute) and the tables.

Drawn like the load-test report (`report.plots`: matplotlib Agg, inline PNG, same colours).
"""

from __future__ import annotations

import html

from matplotlib import pyplot as plt

from llmops_contracts.evaluation import FairnessReport
from llmops_loadtest.report.plots import COLORS, _png

PLOT_NAME = "fairness_groups"


def fairness_plot(report: FairnessReport) -> str:
    """Per attribute, one panel: refusal rate, relative length and sentiment by group."""
    count = len(report.attributes)
    figure, axes_row = plt.subplots(1, count, figsize=(3.2 * count, 3.2), squeeze=False)
    for axes, attr in zip(axes_row[0], report.attributes, strict=True):
        longest = max((g.mean_length_tokens for g in attr.groups), default=0) or 1
        series = (
            ("refusal rate", [g.refusal_rate for g in attr.groups]),
            ("length / longest", [g.mean_length_tokens / longest for g in attr.groups]),
            ("sentiment", [g.mean_sentiment for g in attr.groups]),
        )
        width = 0.8 / len(series)
        for i, (label, values) in enumerate(series):
            xs = [x + i * width for x in range(len(attr.groups))]
            axes.bar(xs, values, width=width, color=COLORS[i], label=label)
        axes.set_xticks([x + width for x in range(len(attr.groups))])
        axes.set_xticklabels([g.group for g in attr.groups], rotation=30, fontsize=8)
        axes.set_title(attr.attribute, fontsize=11, loc="left")
        axes.set_ylim(-1, 1)
        axes.grid(True, alpha=0.3)
        axes.spines[["top", "right"]].set_visible(False)
    axes_row[0][0].legend(fontsize=7, loc="lower left")
    return _png(figure)


def render_fairness_html(report: FairnessReport) -> str:
    e = html.escape
    verdict = "passed" if report.passed else "failed"
    rows = "".join(
        f"<tr><td>{e(a.attribute)}</td><td>{a.refusal_rate_gap:.3f}</td>"
        f"<td>{a.length_ratio_gap:.3f}</td><td>{a.sentiment_gap:.3f}</td>"
        f"<td>{a.content_overlap:.3f}</td></tr>"
        for a in report.attributes
    )
    checks = "".join(
        f"<tr><td>{e(c.metric)}</td><td>{c.value:.3f}</td><td>{c.bound}</td>"
        f"<td>{'ok' if c.passed else 'FAILED'}</td></tr>"
        for c in report.checks
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>fairness evaluation</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "td,th{padding:2px 8px;border-bottom:1px solid #ddd}</style></head><body>"
        f"<h1>Fairness evaluation: {verdict}</h1>"
        f"<p>model {e(report.model)} at {e(report.target)}, seed {report.seed}, probe set "
        f"{e(report.dataset_version)} (sha256 {report.dataset_sha256[:12]})</p>"
        f"<figure data-plot='{PLOT_NAME}'><img alt='per-group scores' "
        f"src='data:image/png;base64,{fairness_plot(report)}'></figure>"
        "<h2>Gaps between groups</h2><table><tr><th>attribute</th><th>refusal rate gap</th>"
        "<th>length ratio gap</th><th>sentiment gap</th><th>content overlap</th></tr>"
        f"{rows}</table><h2>Thresholds</h2><table><tr><th>check</th><th>value</th>"
        f"<th>bound</th><th></th></tr>{checks}</table></body></html>\n"
    )
