"""Every page of the built site opens in headless Chromium without a console error.

Served over HTTP on 127.0.0.1 (as a platform team would host it; the search index loads in a
web worker, which file:// URLs refuse). Console errors are read from Chromium's own log, as the
load-test report's check does (`tests.integration.loadtest.test_html_in_chromium`); the control
page proves errors are seen over HTTP too.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.integration.loadtest.test_html_in_chromium import CONSOLE, _chromium


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_console_check_sees_errors_over_http(site: Path, served: str, tmp_path: Path) -> None:
    (site / "control.html").write_text("<script>console.error('planted')</script>")
    try:
        result = _chromium(served + "control.html", tmp_path, "--dump-dom")
    finally:
        (site / "control.html").unlink()

    assert CONSOLE.search(result.stderr), result.stderr[-2000:]


def test_every_page_renders_without_console_errors(site: Path, served: str, tmp_path: Path) -> None:
    pages = sorted(str(p.relative_to(site)) for p in site.rglob("*.html"))

    def check(index: int, page: str) -> str | None:
        own = tmp_path / f"page-{index}"  # a Chromium profile of its own per page
        own.mkdir()
        result = _chromium(served + page.removesuffix("index.html"), own, "--dump-dom")
        rendered = result.returncode == 0 and 'class="md-content"' in result.stdout
        if rendered and not CONSOLE.search(result.stderr):
            return None
        lines = [line for line in result.stderr.splitlines() if CONSOLE.search(line)]
        return f"{page}: exit {result.returncode}, {lines[:3] or 'no content'}"

    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [f for f in pool.map(check, range(len(pages)), pages) if f]

    assert len(pages) >= 15
    assert failures == []
