"""``kubectl llmops timeline NAME --html FILE``: one self-contained page (inline CSS and PNG,
no script, no fetch), built from strings only; the plots arrive drawn (base64 PNG).

Top to bottom: a banner (where the rollout is now), then per rollout, newest first: its
plot (canary weight over time, phase bands, verdict/rollback/promotion markers) and its
entries as a table.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from llmops_operator.core.state.status import RolloutStatus, TimelineEntry
from llmops_operator.core.state.timeline import PHASE_COLORS, Rollout, clock, step_label

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}
main{max-width:1320px;margin:0 auto;padding:20px 28px}
.banner{padding:14px 22px;border-radius:8px;color:#fff;margin-bottom:14px}
.banner h1{margin:0;font-size:24px}.banner p{margin:4px 0 0;font-size:15px;opacity:.95}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 18px;
margin-bottom:14px}
h2{font-size:16px;margin:4px 0 10px}.meta{color:#57606a;font-weight:400}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 10px;border-bottom:1px solid #eaeef2;vertical-align:top;
font-variant-numeric:tabular-nums}
th{color:#57606a;font-weight:600}
tr.warn{background:#ffebe9}
.chip{display:inline-block;padding:0 8px;border-radius:10px;color:#fff;font-size:12px}
.bar{display:inline-block;width:80px;height:9px;background:#eaeef2;border-radius:4px;
margin-right:6px;vertical-align:middle}
.bar span{display:block;height:9px;border-radius:4px;background:#1f2328}
figure{margin:0 0 10px}
figure img{width:100%;height:auto;border:1px solid #eaeef2;border-radius:6px}
code{background:#eff1f3;padding:1px 4px;border-radius:4px}
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _chip(text: str, color: str) -> str:
    return f'<span class="chip" style="background:{color}">{_e(text)}</span>'


def _row(rollout: Rollout, entry: TimelineEntry) -> str:
    weight = entry.canary_weight
    cells = (
        f"<td>{clock(rollout.seconds(entry))}</td>"
        f"<td>{entry.at.strftime('%Y-%m-%d %H:%M:%S')}</td>"
        f"<td>{_chip(entry.phase.value, PHASE_COLORS[entry.phase])}</td>"
        f"<td>{_e(step_label(entry.step))}</td>"
        f'<td><span class="bar"><span style="width:{weight}%"></span></span>{weight}%</td>'
        f"<td>{_e(entry.reason)}</td><td>{_e(entry.message)}</td>"
    )
    klass = ' class="warn"' if entry.warning else ""
    return f"<tr{klass}>{cells}</tr>"


def _table(rollout: Rollout) -> str:
    head = (
        "<tr><th>since start</th><th>at (UTC)</th><th>phase</th><th>step</th>"
        "<th>canary weight</th><th>reason</th><th>message</th></tr>"
    )
    rows = "".join(_row(rollout, entry) for entry in rollout.entries)
    return f'<table class="entries">{head}{rows}</table>'


def _section(rollout: Rollout, png: str) -> str:
    started = rollout.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    dropped = " &middot; earlier entries dropped" if not rollout.is_complete else ""
    title = f"Rollout of revision {_e(rollout.revision)}"
    meta = f"started {started} &middot; now {_e(rollout.outcome.value)}{dropped}"
    return (
        f'<section data-rollout="{_e(rollout.revision)}"><h2>{title} '
        f'<span class="meta">&middot; {meta}</span></h2>'
        f'<figure data-plot="timeline"><img alt="canary weight over time, revision '
        f'{_e(rollout.revision)}" src="data:image/png;base64,{png}"></figure>'
        f"{_table(rollout)}</section>"
    )


def timeline_page(
    subject: str, status: RolloutStatus, drawn: Sequence[tuple[Rollout, str]], now: datetime
) -> str:
    """The page for ``subject`` (``namespace/name``): ``drawn`` pairs each rollout shown
    (oldest first, as `core.state.timeline.rollouts` lists them) with its plot (base64 PNG)."""
    phase = status.phase.value if status.phase else "Unknown"
    color = PHASE_COLORS[status.phase] if status.phase else "#57606a"
    candidate = (
        f" &middot; candidate {_e(status.canary_revision)} at {status.canary_weight}%"
        if status.canary_revision
        else ""
    )
    banner = (
        f'<div class="banner" style="background:{color}"><h1>{_e(phase)} &middot; '
        f"rollout timeline of {_e(subject)}</h1>"
        f"<p>stable {_e(status.stable_revision or '-')}{candidate} &middot; {_e(status.message)}"
        f"</p><p>drawn {now.strftime('%Y-%m-%d %H:%M:%S UTC')}</p></div>"
    )
    sections = "".join(_section(rollout, png) for rollout, png in reversed(drawn))
    if not drawn:
        sections = "<section><p>No timeline yet: the operator records one from the next phase "
        sections += "change.</p></section>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(phase)}: rollout timeline of {_e(subject)}</title>
<style>{_CSS}</style></head>
<body><main>
{banner}
{sections}
</main></body></html>
"""
