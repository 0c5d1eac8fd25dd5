"""Prometheus recording rules of every signal (pure): the groups of a rules file.

One group per source and recording window, so a slow window (``1d``) can be evaluated less
often than the 5-minute ones that dashboards and alerts read.
"""

from __future__ import annotations

from typing import Any

from llmops_operator.core.signals.series import SIGNALS, Signal

# A rule group's evaluation interval by its window: a 3-day ratio moves slowly.
# 7d: every 5m, so the references dashboards draw appear within minutes of the first traffic
# (at 15m the node tier's panels found none 20 minutes after the stack came up).
_SLOW = {"1d": "5m", "3d": "5m", "7d": "5m", "30d": "15m", "6h": "1m", "2h": "1m"}
_DEFAULT_INTERVAL = "30s"


def build_recording_rule(signal: Signal, window: str) -> dict[str, Any]:
    return {"record": signal.record(window), "expr": signal.recorded_expr(window)}


def build_recording_groups(signals: tuple[Signal, ...] = SIGNALS) -> list[dict[str, Any]]:
    """``[{name, interval, rules: [{record, expr}]}]`` in a stable order."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for signal in signals:
        for window in signal.windows:
            interval = signal.interval or _SLOW.get(window, _DEFAULT_INTERVAL)
            groups.setdefault((signal.source, interval), []).append(
                build_recording_rule(signal, window)
            )
    return [
        {"name": f"llmops-{source}-recording-{interval}", "interval": interval, "rules": rules}
        for (source, interval), rules in groups.items()
    ]
