"""The report's four plots, drawn with matplotlib (Agg) into inline PNG data.

Every plot has a stable name (`PLOT_NAMES`): the HTML tags each figure with it, and the
tests check that every one is there and decodes.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: render to memory only (before pyplot is imported)

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from llmops_loadtest.core.records import RequestRecord
from llmops_loadtest.core.stats import latency_samples

PLOT_NAMES: tuple[str, ...] = (
    "latency_over_time",
    "ttft_distribution",
    "itl_distribution",
    "throughput_errors_over_time",
)
COLORS = ("#1f6feb", "#d97706", "#16a34a", "#9333ea")
_WIDTH_IN, _HEIGHT_IN, _DPI = 6.4, 3.2, 110


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(title: str) -> tuple[Figure, Axes]:
    figure, axes = plt.subplots(figsize=(_WIDTH_IN, _HEIGHT_IN))
    axes.set_title(title, fontsize=11, loc="left")
    axes.grid(True, alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def _shade_windows(axes: Axes, run: dict[str, Any]) -> None:
    start, end = run["measured_window_s"]
    if start > 0:
        axes.axvspan(0, start, color="#888", alpha=0.12, lw=0, label="warm-up (excluded)")
    if end < run["duration_s"]:
        axes.axvspan(end, run["duration_s"], color="#888", alpha=0.12, lw=0)


def _series(rows: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    points = [(row["t_s"], row[key]) for row in rows if row[key] is not None]
    return [point[0] for point in points], [point[1] for point in points]


def plot_latency_over_time(report: dict[str, Any]) -> str:
    figure, axes = _figure("Latency percentiles over time (per completion second)")
    styles = (
        ("ttft_p50_s", "TTFT p50", "-"),
        ("ttft_p95_s", "TTFT p95", "--"),
        ("e2e_p95_s", "end-to-end p95", ":"),
    )
    for index, (label, target) in enumerate(report["targets"].items()):
        color = COLORS[index % len(COLORS)]
        for key, name, style in styles:
            xs, ys = _series(target["timeseries"], key)
            prefix = f"{label} " if len(report["targets"]) > 1 else ""
            axes.plot(xs, ys, style, color=color, marker=".", label=f"{prefix}{name}")
    _shade_windows(axes, report["run"])
    axes.set_ylim(bottom=0)
    axes.set_xlabel("seconds since start")
    axes.set_ylabel("seconds")
    axes.legend(fontsize=8, loc="upper left")
    return _png(figure)


def _threshold(report: dict[str, Any], prefix: str) -> float | None:
    for slo in report["verdict"]["slos"]:
        if slo["metric"].startswith(prefix) and slo["scope"] == "absolute":
            return float(slo["threshold"])
    return None


def _plot_distribution(
    report: dict[str, Any], records: Sequence[RequestRecord], latency: str, title: str
) -> str:
    figure, axes = _figure(title)
    for index, label in enumerate(report["targets"]):
        samples = latency_samples([r for r in records if r.target == label], latency)
        if samples:
            axes.hist(
                [value * 1000 for value in samples],
                bins=40,
                alpha=0.6,
                color=COLORS[index % len(COLORS)],
                label=f"{label} (n={len(samples)})",
            )
        p95 = report["targets"][label]["latency_s"][latency]["p95"]
        if p95 is not None:
            axes.axvline(p95 * 1000, color=COLORS[index % len(COLORS)], ls="--", lw=1)
    limit = _threshold(report, f"{latency}_")
    if limit is not None:
        axes.axvline(limit * 1000, color="#dc2626", lw=2, label=f"gate {limit * 1000:g} ms")
    axes.set_xlabel("milliseconds (dashed: p95)")
    axes.set_ylabel("count")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=8)
    else:  # e.g. RAG queries and ingestion are not streamed: there is no first token
        axes.text(0.5, 0.5, "no samples", ha="center", va="center", transform=axes.transAxes)
    return _png(figure)


def plot_throughput_errors(report: dict[str, Any]) -> str:
    figure, axes = _figure("Throughput and errors over time")
    tokens_axes = axes.twinx()
    for index, (label, target) in enumerate(report["targets"].items()):
        color = COLORS[index % len(COLORS)]
        prefix = f"{label} " if len(report["targets"]) > 1 else ""
        xs, ys = _series(target["timeseries"], "requests_per_s")
        axes.plot(xs, ys, "-", color=color, marker=".", label=f"{prefix}requests/s")
        xs, errors = _series(target["timeseries"], "errors_per_s")
        axes.bar(xs, errors, width=0.8, color="#dc2626", alpha=0.7, label=f"{prefix}errors/s")
        xs, tokens = _series(target["timeseries"], "output_tokens_per_s")
        tokens_axes.plot(xs, tokens, ":", color=color, label=f"{prefix}output tokens/s")
    _shade_windows(axes, report["run"])
    axes.set_xlabel("seconds since start")
    axes.set_ylabel("requests/s, errors/s")
    tokens_axes.set_ylabel("output tokens/s")
    tokens_axes.spines[["top"]].set_visible(False)
    handles, labels = axes.get_legend_handles_labels()
    more_handles, more_labels = tokens_axes.get_legend_handles_labels()
    axes.legend(handles + more_handles, labels + more_labels, fontsize=8, loc="upper left")
    return _png(figure)


def render_plots(report: dict[str, Any], records: Sequence[RequestRecord]) -> dict[str, str]:
    """Every plot of `PLOT_NAMES` as base64 PNG."""
    return {
        "latency_over_time": plot_latency_over_time(report),
        "ttft_distribution": _plot_distribution(
            report, records, "ttft", "Time to first token (TTFT) distribution"
        ),
        "itl_distribution": _plot_distribution(
            report, records, "itl", "Inter-token latency (ITL) distribution"
        ),
        "throughput_errors_over_time": plot_throughput_errors(report),
    }
