"""What the umbrella chart ships for people to look at, as queries: every recording rule and
every Grafana panel's expression (the dashboards' variables filled in), read back from the
stack's own Prometheus by the node tier after the demo ran real traffic through real pods."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from llmops_infra.charts import CHARTS_DIR
from llmops_infra.docs.rules import RecordDoc, parse_rules

STACK_FILES = CHARTS_DIR / "llmops-stack" / "files"
# Dashboard variables: the namespace is the stack's; every model and ModelDeployment in it.
_VARIABLE = re.compile(r"\$(\w+)")


@dataclass(frozen=True)
class Panel:
    dashboard: str
    title: str
    expr: str


def recording_rules() -> list[RecordDoc]:
    """The recording rules (their expressions have no template parts; the alerts do)."""
    text = (STACK_FILES / "prometheus" / "llmops.rules.yaml").read_text()
    return list(parse_rules(text).records)


def panels(namespace: str) -> list[Panel]:
    """Every panel target of every dashboard, with ``$namespace`` set and the other
    variables matching everything (as Grafana's "All" does)."""
    found = []
    for path in sorted((STACK_FILES / "grafana").glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                expr = _VARIABLE.sub(
                    lambda m: namespace if m.group(1) == "namespace" else ".*", target["expr"]
                )
                found.append(Panel(path.stem, panel["title"], expr))
    return found


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    """An instant query's series (raises on an invalid expression)."""
    response = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=30)
    body = response.json()
    assert body.get("status") == "success", f"{expr}: {body}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result
