"""The rollout timeline's plot, drawn with matplotlib (Agg) into inline PNG data, and the page
that holds it (`kubectl llmops timeline NAME --html FILE`).

What is drawn is decided in the pure core (`core.state.timeline.build_chart`); this module only
draws it, in the load-test report's style (`llmops_loadtest.report.plots`). Only the plugin
imports it, and only for ``--html``: the operator never loads matplotlib.
"""

from __future__ import annotations

import base64
import io
from datetime import datetime

import matplotlib

matplotlib.use("Agg")  # no display: render to memory only (before pyplot is imported)

import matplotlib.pyplot as plt
from matplotlib.artist import Artist
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from llmops_operator.core.state.status import RolloutStatus
from llmops_operator.core.state.timeline import PHASE_COLORS, Chart, build_chart, clock, rollouts
from llmops_operator.views.timeline_page import timeline_page

_WIDTH_IN, _HEIGHT_IN, _DPI = 10.0, 3.8, 110
WEIGHT_COLOR = "#1f2328"
# Marker kind -> (matplotlib marker, colour, legend text); rollback and promotion also get a
# vertical line across the plot.
MARKERS: dict[str, tuple[str, str, str]] = {
    "passed": ("^", "#16a34a", "gate passed"),
    "inconclusive": ("o", "#d97706", "gate inconclusive"),
    "skipped": ("s", "#8c959f", "gate skipped"),
    "rollback": ("X", "#dc2626", "rollback"),
    "promoted": ("*", "#16a34a", "switch to the revision"),
}
LINED = {"rollback": "-", "promoted": "--"}


def plot_png(chart: Chart) -> str:
    """The chart as base64 PNG: weight step line over phase bands, labelled markers."""
    figure, axes = plt.subplots(figsize=(_WIDTH_IN, _HEIGHT_IN))
    axes.set_title(chart.title, fontsize=11, loc="left")
    axes.grid(True, alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    for band in chart.bands:
        color = PHASE_COLORS[band.phase]
        axes.axvspan(band.start_s, band.end_s, color=color, alpha=0.16, lw=0)
    xs = [at for at, _ in chart.points] + [chart.end_s]
    ys = [weight for _, weight in chart.points] + [chart.points[-1][1]]
    axes.step(xs, ys, where="post", color=WEIGHT_COLOR, lw=2.2)
    for index, marker in enumerate(chart.markers):
        symbol, color, _ = MARKERS[marker.kind]
        if marker.kind in LINED:
            axes.axvline(marker.at_s, color=color, ls=LINED[marker.kind], lw=1.2, alpha=0.8)
        axes.plot([marker.at_s], [marker.weight], symbol, color=color, ms=11, mec="white")
        # Staggered heights keep verdicts a few seconds apart readable; labels in the last
        # quarter go left of their marker so they stay inside the figure.
        left = marker.at_s > 0.75 * chart.end_s
        axes.annotate(
            marker.label,
            (marker.at_s, marker.weight),
            xytext=(-6 if left else 6, 10 + 11 * (index % 3)),
            textcoords="offset points",
            ha="right" if left else "left",
            fontsize=8,
            color=color,
            annotation_clip=False,
        )
    axes.set_xlim(0, chart.end_s)
    axes.set_ylim(-4, 122)
    axes.set_yticks([0, 20, 40, 60, 80, 100])
    # Whole seconds at clock-friendly steps (10 s, 30 s, 1 min, ...), labelled m:ss.
    axes.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True, steps=[1, 2, 3, 5, 6, 10]))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda seconds, _: clock(seconds)[1:]))
    axes.set_xlabel("time since the rollout started (m:ss)")
    axes.set_ylabel("canary weight (%)")
    handles: list[Artist] = [Line2D([], [], color=WEIGHT_COLOR, lw=2.2, label="canary weight")]
    seen_phases = dict.fromkeys(band.phase for band in chart.bands)
    handles += [Patch(color=PHASE_COLORS[p], alpha=0.35, label=p.value) for p in seen_phases]
    for kind in dict.fromkeys(marker.kind for marker in chart.markers):
        symbol, color, text = MARKERS[kind]
        handles.append(Line2D([], [], ls="", marker=symbol, color=color, ms=8, label=text))
    axes.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def render_timeline_page(
    namespace: str,
    name: str,
    status: RolloutStatus,
    now: datetime,
    *,
    every_rollout: bool = False,
) -> str:
    """The HTML page of ``status.timeline``: the latest rollout (``every_rollout``: all kept)."""
    found = rollouts(status.timeline)
    shown = found if every_rollout else found[-1:]
    drawn = [(rollout, plot_png(build_chart(rollout, now, name))) for rollout in shown]
    return timeline_page(f"{namespace}/{name}", status, drawn, now)
