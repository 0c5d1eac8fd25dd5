"""The alerts reference: the umbrella chart's Prometheus rules, as the chart renders them.

Input is the rules file as it is installed (``charts/llmops-stack/files/prometheus/`` rendered
through Helm with the chart defaults, so thresholds read as the defaults). Every alert gets a
section (its name is its anchor) with severity, ``for``, summary, expression and runbook; every
recording rule a row. An alert's ``runbook_url`` that names a page of this site
(``.../docs/runbooks/<file>.md#<anchor>``) becomes a link to that page and anchor, so a
runbook page or section that is missing fails the strict build instead of a reader at 3 a.m.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from llmops_infra.docs.markdown import cell, code, escape, table

_SITE_PAGE = re.compile(r"(?:^|/)docs/(?P<page>runbooks/[^#?]+\.md)(?P<anchor>#[^?]*)?$")


@dataclass(frozen=True)
class AlertDoc:
    name: str
    group: str
    expr: str
    for_: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")


@dataclass(frozen=True)
class RecordDoc:
    name: str
    group: str
    expr: str


@dataclass(frozen=True)
class RulesDoc:
    alerts: tuple[AlertDoc, ...] = ()
    records: tuple[RecordDoc, ...] = ()
    groups: tuple[str, ...] = ()


def parse_rules(rules_yaml: str) -> RulesDoc:
    """Prometheus rule groups (``groups: [{name, rules: [...]}]``) in file order."""
    data: Any = yaml.safe_load(rules_yaml) or {}
    alerts: list[AlertDoc] = []
    records: list[RecordDoc] = []
    groups: list[str] = []
    for group in data.get("groups") or []:
        name = str(group.get("name", ""))
        groups.append(name)
        for rule in group.get("rules") or []:
            expr = " ".join(str(rule.get("expr", "")).split())
            if "alert" in rule:
                alerts.append(
                    AlertDoc(
                        name=str(rule["alert"]),
                        group=name,
                        expr=expr,
                        for_=str(rule.get("for", "")),
                        labels={k: str(v) for k, v in (rule.get("labels") or {}).items()},
                        annotations={k: str(v) for k, v in (rule.get("annotations") or {}).items()},
                    )
                )
            elif "record" in rule:
                records.append(RecordDoc(name=str(rule["record"]), group=name, expr=expr))
    return RulesDoc(tuple(alerts), tuple(records), tuple(groups))


def site_page(runbook_url: str) -> tuple[str, str] | None:
    """``(page, anchor)`` under ``docs/`` when the URL names a page of this site, else None.

    ``https://host/org/llmops/blob/main/docs/runbooks/gateway.md#x`` and
    ``docs/runbooks/gateway.md#x`` both give ``("runbooks/gateway.md", "#x")``.
    """
    match = _SITE_PAGE.search(runbook_url.strip())
    if match is None:
        return None
    return match.group("page"), match.group("anchor") or ""


def runbook_link(runbook_url: str, from_dir: str) -> str:
    """The runbook cell of an alert, linked relative to the page in ``from_dir``."""
    if not runbook_url:
        return "none yet"
    local = site_page(runbook_url)
    if local is None:
        return (
            f"<{runbook_url}>"
            if runbook_url.startswith(("http://", "https://"))
            else (code(runbook_url))
        )
    page, anchor = local
    up = "../" * len([part for part in from_dir.split("/") if part])
    return f"[{page}{anchor}]({up}{page}{anchor})"


def render_alert(alert: AlertDoc, from_dir: str) -> str:
    facts = [
        f"- **Severity:** {cell(alert.severity) or 'none'}",
        f"- **For:** {code(alert.for_) if alert.for_ else 'fires at once'}",
        f"- **Group:** `{alert.group}`",
        f"- **Runbook:** {runbook_link(alert.annotations.get('runbook_url', ''), from_dir)}",
    ]
    parts = [f"### {alert.name} {{ #{alert.name.lower()} }}"]
    summary = alert.annotations.get("summary", "")
    if summary:
        parts.append(escape(summary))
    parts.append("\n".join(facts))
    description = alert.annotations.get("description", "")
    if description:
        parts.append(escape(description))
    parts.append(f"```promql\n{alert.expr}\n```")
    return "\n\n".join(parts)


def render_rules_reference(rules: RulesDoc, from_dir: str, intro: str = "") -> str:
    parts = ["# Alerts and recording rules"]
    if intro:
        parts.append(intro)
    parts.append("## Alerts")
    if rules.alerts:
        rows = [
            (f"[{a.name}](#{a.name.lower()})", cell(a.severity), cell(a.for_)) for a in rules.alerts
        ]
        parts.append(table(("Alert", "Severity", "For"), rows))
        parts += [render_alert(a, from_dir) for a in rules.alerts]
    else:
        parts.append("The chart renders no alerts.")
    parts.append("## Recording rules")
    if rules.records:
        rows = [(code(r.name), code(r.expr), f"`{r.group}`") for r in rules.records]
        parts.append(table(("Series", "Expression", "Group"), rows))
    else:
        parts.append("The chart renders no recording rules.")
    return "\n\n".join(parts) + "\n"
