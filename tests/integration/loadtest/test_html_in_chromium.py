"""The HTML report renders in headless Chromium: every plot decodes, no console error.

Console errors are read from Chromium's own log (``--enable-logging=stderr``); a control page
that logs an error proves the method sees them.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from llmops_loadtest.report.plots import PLOT_NAMES
from llmops_loadtest.testing.process import RunningUpstream
from tests.integration.loadtest.conftest import run_cli, write

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--enable-logging=stderr", "--v=0", "--window-size=1320,2400",
]  # fmt: skip
CONSOLE = re.compile(r"CONSOLE[:(]\d+|Uncaught|Failed to load resource")


def _chromium(page: Path | str, tmp_path: Path, *action: str) -> subprocess.CompletedProcess[str]:
    """Chromium on a file (``Path``) or a URL (``str``), with ``action`` (--dump-dom, ...)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail("chromium is missing (apt-get install -y chromium)", pytrace=False)
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *action, _target(page)],
        capture_output=True, text=True, timeout=90, check=False, cwd=tmp_path,
    )  # fmt: skip


def _target(page: Path | str) -> str:
    return page if isinstance(page, str) else page.as_uri()


def test_the_console_check_sees_errors(tmp_path: Path) -> None:
    control = write(tmp_path / "control.html", "<script>console.error('planted')</script>")
    result = _chromium(control, tmp_path, "--dump-dom")
    assert CONSOLE.search(result.stderr), result.stderr[-2000:]


def test_report_renders_every_plot_without_console_errors(
    tmp_path: Path, fast_upstream: RunningUpstream
) -> None:
    profile = write(
        tmp_path / "p.yaml",
        "name: html\nload: {shape: poisson_rate, rate_rps: 20, duration_s: 4, max_users: 8}\n"
        "prompts: {kind: fixed, input_tokens: 8, output_tokens: 6}\nwarmup_s: 1\n",
    )
    gate = write(tmp_path / "g.yaml", "slos: ['ttft_p95_s <= 0.5', 'error_ratio <= 0.01']\n")
    out = tmp_path / "out"
    result = run_cli(
        "run", "--target", fast_upstream.url, "-p", str(profile), "-g", str(gate), "-o", str(out)
    )
    assert result.code == 0, result.stderr + result.stdout
    page = out / "report.html"

    shot = tmp_path / "report.png"
    screenshot = _chromium(page, tmp_path, f"--screenshot={shot}")
    assert shot.is_file(), screenshot.stderr[-2000:]
    assert not CONSOLE.search(screenshot.stderr), CONSOLE.findall(screenshot.stderr)
    image = Image.open(shot).convert("L")
    assert image.size == (1320, 2400)
    colors = image.resize((64, 64)).getcolors(maxcolors=4096) or []
    assert len(colors) > 20  # drawn, not a blank page

    dom = _chromium(page, tmp_path, "--dump-dom").stdout
    assert "PASS" in dom
    for name in PLOT_NAMES:
        match = re.search(
            rf'data-plot="{name}"><img alt="{name}" src="data:image/png;base64,([^"]+)"', dom
        )
        assert match is not None, f"plot {name} missing from the rendered page"
        png = tmp_path / f"{name}.png"
        png.write_bytes(base64.b64decode(match.group(1)))
        width, height = Image.open(png).size
        assert width > 400 and height > 200, name
    shutil.copy(shot, out / "screenshot.png")  # kept next to the report for a human look
