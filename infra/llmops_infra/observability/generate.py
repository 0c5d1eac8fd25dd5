"""Every generated observability file of the chart, its expected text, and which are stale."""

from __future__ import annotations

from pathlib import Path

from llmops_infra.observability import DASHBOARDS_DIR, RULES_PATH
from llmops_infra.observability.rules import render_rules_file


def expected_files() -> dict[Path, str]:
    # Imported here: grafana-foundation-sdk is a dev dependency, the rules file needs none.
    from llmops_infra.observability.dashboards import render_dashboards  # noqa: PLC0415

    files = {RULES_PATH: render_rules_file()}
    files.update({DASHBOARDS_DIR / name: text for name, text in render_dashboards().items()})
    return files


def stale_files() -> list[Path]:
    """Generated files that differ from the code, are missing, or are no longer generated."""
    wanted = expected_files()
    stale = [p for p, text in wanted.items() if not p.is_file() or p.read_text() != text]
    stale += [p for p in sorted(DASHBOARDS_DIR.glob("*.json")) if p not in wanted]
    return stale


def write_files() -> list[Path]:
    written = []
    wanted = expected_files()
    for path, text in wanted.items():
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        if path not in wanted:
            path.unlink()
            written.append(path)
    return written
