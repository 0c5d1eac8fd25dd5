"""The timeline page renders in headless Chromium: every plot decodes, no console error.

Same method as the load-test report's check (`tests.integration.loadtest.
test_html_in_chromium`, whose control page proves console errors are seen). The page is
drawn from a simulated history: a first revision, a promoted canary, a rolled-back one.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

from PIL import Image

from llmops_operator.core.state.timeline import rollouts
from llmops_operator.timeline_plot import render_timeline_page
from tests.integration.loadtest.test_html_in_chromium import CONSOLE, _chromium
from tests.unit.operator.sim import deployed, make_spec, with_revision
from tests.unit.operator.test_timeline import walk_canary_to_succeeded


def test_timeline_page_renders_every_rollout_without_console_errors(tmp_path: Path) -> None:
    world = deployed(make_spec())
    walk_canary_to_succeeded(world)
    world.metric_value = 2.0  # revision 3 fails its analysis
    world.spec = with_revision(world.spec, "3")
    world.tick(1)
    world.make_ready()
    for seconds in (1, 1, 30, 1, 10, 1):
        world.tick(seconds)
    page = tmp_path / "timeline.html"
    html = render_timeline_page("ns", "chat", world.status, world.now, every_rollout=True)
    page.write_text(html, encoding="utf-8")

    shot = tmp_path / "timeline.png"
    screenshot = _chromium(page, tmp_path, f"--screenshot={shot}")
    assert shot.is_file(), screenshot.stderr[-2000:]
    assert not CONSOLE.search(screenshot.stderr), CONSOLE.findall(screenshot.stderr)
    colors = Image.open(shot).convert("L").resize((64, 64)).getcolors(maxcolors=4096) or []
    assert len(colors) > 20  # drawn, not a blank page

    dom = _chromium(page, tmp_path, "--dump-dom").stdout
    assert "RolledBack · rollout timeline of ns/chat" in dom
    plots = re.findall(
        r'data-plot="timeline"><img alt="[^"]+" src="data:image/png;base64,([^"]+)"', dom
    )
    assert len(plots) == len(rollouts(world.status.timeline)) == 3
    for encoded in plots:
        width, height = Image.open(io.BytesIO(base64.b64decode(encoded))).size
        assert width > 800 and height > 300
    # one table row per entry, in every rollout's table
    assert dom.count("<tr") == len(world.status.timeline) + 3  # plus a header row each
