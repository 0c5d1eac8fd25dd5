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


def fmt_margin(result: dict[str, Any]) -> str:
    """How far an SLO is from its limit: ``107.1 ms over the limit (31 %)``, ``42.0 ms
    headroom``; ratios in percentage points."""
    observed, threshold = result["observed"], result["threshold"]
    if observed is None:
        return "no samples"
    upper_bound = result["op"] in ("<=", "<")
    excess = observed - threshold if upper_bound else threshold - observed
    if result["scope"] == "ratio":
        amount = f"{abs(excess):.3f}x"
    elif result["metric"].endswith("_ratio"):
        amount = f"{abs(excess) * 100:.2f} pp"  # percentage points of a ratio
    else:
        amount = fmt_value(result["metric"], abs(excess))
    relative = f" ({abs(excess) / abs(threshold) * 100:.0f} %)" if threshold else ""
    if result["passed"]:
        return f"{amount} headroom"
    return f"{amount} {'over' if upper_bound else 'under'} the limit{relative}"


def sweep_best(sweep: dict[str, Any]) -> str:
    """``5 req/s (2.80/s achieved)``: the highest swept rate meeting every SLO."""
    best = sweep["max_passing_rate_rps"]
    if best is None:
        return "none of the swept rates"
    achieved = sweep.get("max_passing_achieved_rps")
    served = f" ({achieved:.2f}/s achieved)" if achieved is not None else ""
    return f"{best:g} req/s{served}"
