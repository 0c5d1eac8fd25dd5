"""`kubectl llmops timeline` against the real operator: the operator records the rollout in
``status.timeline`` (surviving a crash mid-rollout), and the plugin shows exactly that, as
text, at the end of `status`, and as an HTML page with the plot."""

from __future__ import annotations

import base64
import io
import itertools
import re
from pathlib import Path
from typing import Any

from PIL import Image

from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import GatewayMetrics, Operator
from tests.cluster.operator.helpers import apply_example, plugin, set_revision, wait_for

PNG = re.compile(r'data-plot="timeline"><img alt="[^"]+" src="data:image/png;base64,([^"]+)"')


def latest_rollout(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    start = max(i for i, entry in enumerate(timeline) if entry.get("rolloutStart"))
    return timeline[start:]


def test_timeline_records_a_canary_and_the_plugin_draws_it(
    kube: Kube,
    namespace: str,
    operator: Operator,
    gateway_metrics: GatewayMetrics,
    tmp_path: Path,
) -> None:
    gateway_metrics.ttft[(namespace, "stable")] = 0.08
    gateway_metrics.ttft[(namespace, "canary")] = 0.08
    name = apply_example(kube, namespace, "canary.yaml")
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=operator)
    set_revision(kube, namespace, name, "2")
    # The operator crashes while the canary holds 20 %; a new one resumes from the status.
    wait_for(
        kube, namespace, name, lambda s: s.get("canaryWeight") == 20, timeout=90, operator=operator
    )
    operator.kill()
    operator.start()
    status = wait_for(
        kube,
        namespace,
        name,
        # settled: after the switch, the tick that finds revision 2 stable is the last entry
        lambda s: s.get("stableRevision") == "2" and s["timeline"][-1]["reason"] == "Stable",
        timeout=120,
        operator=operator,
    )

    timeline = status["timeline"]
    assert timeline[0]["rolloutStart"] and timeline[0]["reason"] == "FirstRevision"
    assert timeline[0]["revision"] == "1"  # the first revision's rollout is kept before
    entries = latest_rollout(timeline)
    assert entries[0]["reason"] == "NewRevision" and entries[0]["revision"] == "2"
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    weights = [e["canaryWeight"] for e in entries]
    moves = [w for i, w in enumerate(weights) if i == 0 or w != weights[i - 1]]
    assert moves == [0, 20, 50, 100]
    reasons = [e["reason"] for e in entries]
    # (PauseStep is there only when a tick fell inside the 3 s pause: not after the crash)
    for expected in ("WeightSet", "PauseEnded", "AnalysisPassed", "AllStepsDone", "Promoted"):
        assert expected in reasons, reasons
    assert reasons.index("PauseEnded") < reasons.index("AnalysisPassed") < reasons.index("Promoted")
    # the crash repeated no entry: each one is a change
    keys = [(e["phase"], e["reason"], e.get("step"), e["canaryWeight"]) for e in entries]
    assert all(a != b for a, b in itertools.pairwise(keys)), keys

    # the terminal view: a header, then one line per entry of the latest rollout
    shown = plugin(kube, "timeline", name, "-n", namespace)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("Rollout of revision 2, started ")
    assert len(lines) == 1 + len(entries)
    for line, entry in zip(lines[1:], entries, strict=True):
        assert line.split()[1] == entry["phase"]
        assert f"{entry['canaryWeight']:>3}%  {entry['reason']}" in line
    every = plugin(kube, "timeline", name, "-n", namespace, "--all").stdout.splitlines()
    assert [line.split(",")[0] for line in every if line.startswith("Rollout")] == [
        "Rollout of revision 1",
        "Rollout of revision 2",
    ]

    # the end of `status` is the same timeline (its latest entries)
    described = plugin(kube, "status", name, "-n", namespace)
    assert described.returncode == 0, described.stderr
    tail = described.stdout.splitlines()
    assert f"Timeline (all: kubectl llmops timeline {name}):" in tail
    assert tail[-min(12, len(entries)) :] == lines[-min(12, len(entries)) :]

    # the page: the plot (a real PNG) and the entries as a table
    page = tmp_path / "timeline.html"
    written = plugin(kube, "timeline", name, "-n", namespace, "--html", str(page))
    assert written.returncode == 0, written.stderr
    assert f"timeline written to {page}" in written.stdout
    html = page.read_text(encoding="utf-8")
    plots = PNG.findall(html)
    assert len(plots) == 1
    image = Image.open(io.BytesIO(base64.b64decode(plots[0])))
    assert image.format == "PNG" and image.size[0] > 800
    table = html[html.index('<table class="entries">') :]
    assert table.count("<tr") == 1 + len(entries)
    for entry in entries:
        assert f"<td>{entry['reason']}</td>" in table
    assert "<script" not in html
