"""Number formatting shared by the HTML and Markdown reports: units a reader expects."""

from __future__ import annotations

from typing import Any


def fmt_value(metric: str, value: float | None) -> str:
    """Seconds as ms below 1 s, ratios as %, rates with 2 decimals, counts as integers."""
    if value is None:
        return "n/a"
    if metric.endswith("_s") and not metric.endswith("_per_s"):
        return f"{value * 1000:.1f} ms" if abs(value) < 1 else f"{value:.2f} s"
    if metric.endswith("_ratio"):
        return f"{value * 100:.2f} %"
    if metric.endswith("_per_s") or metric.endswith("_rps"):
        return f"{value:.2f}/s"
    return f"{value:.0f}"


def fmt_threshold(result: dict[str, Any]) -> str:
    if result["scope"] == "ratio":
        return f"{result['op']} {result['threshold']:g}x"
    return f"{result['op']} {fmt_value(result['metric'], result['threshold'])}"


def fmt_observed(result: dict[str, Any]) -> str:
    if result["observed"] is None:
        return result.get("reason") or "no samples"
    if result["scope"] == "ratio":
        return f"{result['observed']:.3f}x"
    return fmt_value(result["metric"], result["observed"])


KEY_METRICS: tuple[tuple[str, str], ...] = (
    ("requests", "requests measured"),
    ("error_ratio", "errors"),
    ("requests_per_s", "requests/s"),
    ("output_tokens_per_s", "output tokens/s"),
    ("ttft_p50_s", "TTFT p50"),
    ("ttft_p95_s", "TTFT p95"),
    ("itl_p95_s", "ITL p95"),
    ("e2e_p95_s", "end-to-end p95"),
)
