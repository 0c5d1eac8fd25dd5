"""The umbrella chart's rules file and dashboards are what the code generates, and every
alert's runbook_url names a section that exists under docs/runbooks/."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from llmops_infra.charts.layout import REPO_ROOT
from llmops_infra.observability import FIX_COMMAND, RULES_PATH
from llmops_infra.observability.alerts import ALERTS
from llmops_infra.observability.rules import render_rules_file

RUNBOOKS = REPO_ROOT / "docs" / "runbooks"


def slug(heading: str) -> str:
    """A heading's anchor as mkdocs' default toc slugify makes it."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    return {
        slug(line.lstrip("#")) for line in page.read_text().splitlines() if line.startswith("#")
    }


def test_should_commit_the_rules_file_the_code_generates() -> None:
    assert RULES_PATH.read_text() == render_rules_file(), f"run `{FIX_COMMAND}`"


def test_should_give_every_alert_severity_summary_description_and_runbook() -> None:
    text = RULES_PATH.read_text().replace("{{ .Values.observability.runbookBaseUrl }}", "")
    groups = yaml.safe_load(re.sub(r"\{\{[^}]*\}\}", "X", text))["groups"]
    alerts = [rule for group in groups for rule in group["rules"] if "alert" in rule]

    assert {a["alert"] for a in alerts} == {a.name for a in ALERTS}
    for alert in alerts:
        assert alert["labels"]["severity"] in {"critical", "warning"}
        assert {"summary", "description", "runbook_url"} <= set(alert["annotations"])


def test_should_point_every_runbook_url_at_a_section_that_exists() -> None:
    for alert in ALERTS:
        url = alert.rule()["annotations"]["runbook_url"]
        path, _, anchor = url.removeprefix("{{ .Values.observability.runbookBaseUrl }}").partition(
            "#"
        )
        page = REPO_ROOT / path
        assert page.is_relative_to(RUNBOOKS) and page.is_file(), url
        assert anchor in anchors(page), f"{alert.name}: no section #{anchor} in {path}"


def test_should_slug_headings_like_mkdocs() -> None:
    assert slug(" LlmopsMilvusDown ") == "llmopsmilvusdown"
    assert slug("What to do: now") == "what-to-do-now"
