"""Every reference page of the docs site, by its path under ``docs/``: the thin I/O shell.

Reads the sources (the charts, the CRD, the metric modules, the umbrella chart's rules as
Helm renders them) and hands them to the pure renderers. The command-line trees come in as
arguments: the CLI is the top floor, and nothing below it imports it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from typer._click.core import Command

from llmops_gateway.clients.metrics import GatewayMetrics
from llmops_infra.charts import CHARTS_DIR, CRD_PATH, helm
from llmops_infra.charts import docs as chart_docs
from llmops_infra.charts.layout import load_crd
from llmops_infra.docs.cli import render_cli_reference
from llmops_infra.docs.crd import render_crd_reference
from llmops_infra.docs.markdown import generated_notice
from llmops_infra.docs.metrics import MetricGroup, metrics_of, render_metrics_reference
from llmops_infra.docs.rules import parse_rules, render_rules_reference
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings
from llmops_operator import metrics as operator_metrics

REFERENCE = "reference"
RULES_KEY = "llmops.rules.yaml"


@dataclass(frozen=True)
class CliRoot:
    """One command-line program to document: how it is invoked, its tree, its page."""

    prog: str
    command: Command
    page: str
    source: str


def chart_pages(charts_dir: Path = CHARTS_DIR) -> dict[str, str]:
    """Each chart's README as `llmops charts docs` writes it (fresh from values.yaml)."""
    return {
        f"{REFERENCE}/charts/{d.name}.md": chart_docs.render_readme(chart_docs.load_chart(d))
        for d in chart_docs.chart_dirs(charts_dir)
    }


def metric_groups() -> list[MetricGroup]:
    """The gateway's metrics (one registry per app instance) and the operator's (module level)."""
    return [
        MetricGroup(
            "Gateway",
            "Served by the RAG gateway at `/metrics` on its Service port "
            "(`rag-gateway.service.port`, 8080); defined in "
            "`services/llmops_gateway/clients/metrics.py`.",
            metrics_of(vars(GatewayMetrics()).values()),
        ),
        MetricGroup(
            "Operator",
            "Served by the rollout operator at `/metrics` on `llmops-operator.metrics.port` "
            "(9090); defined in `operators/llmops_operator/metrics.py`.",
            metrics_of(vars(operator_metrics).values()),
        ),
    ]


def rules_from_manifests(manifests: str, key: str = RULES_KEY) -> str:
    """The rules file inside the rendered ConfigMap that carries ``key``."""
    for doc in yaml.safe_load_all(manifests):
        if isinstance(doc, dict) and doc.get("kind") == "ConfigMap":
            data: dict[str, Any] = doc.get("data") or {}
            if key in data:
                return str(data[key])
    raise LlmopsError("llmops-stack", f"renders no ConfigMap with {key}")


def rendered_rules(settings: LocalSettings | None = None) -> str:
    """The umbrella chart's rules as `helm template` renders them with the chart defaults."""
    settings = settings or LocalSettings()
    target = helm.HelmTarget(settings.bin_dir / "helm")
    return rules_from_manifests(asyncio.run(helm.render(target, "llmops", "llmops", {})))


def reference_pages(cli_roots: Sequence[CliRoot], rules_yaml: str | None = None) -> dict[str, str]:
    """Every generated page by its path under ``docs/``; ``rules_yaml`` defaults to Helm's."""
    pages = chart_pages()
    crd_notice = generated_notice(f"`{CRD_PATH.relative_to(CHARTS_DIR.parent)}`")
    pages[f"{REFERENCE}/modeldeployment.md"] = render_crd_reference(load_crd(), crd_notice)
    for root in cli_roots:
        pages[f"{REFERENCE}/{root.page}"] = render_cli_reference(
            root.command, root.prog, generated_notice(root.source)
        )
    pages[f"{REFERENCE}/metrics.md"] = render_metrics_reference(
        metric_groups(), generated_notice("the metric objects the gateway and operator define")
    )
    rules = parse_rules(rules_yaml if rules_yaml is not None else rendered_rules())
    pages[f"{REFERENCE}/alerts.md"] = render_rules_reference(
        rules,
        REFERENCE,
        generated_notice(
            "`charts/llmops-stack/files/prometheus/`, rendered by `helm template` with the "
            "chart defaults (thresholds: `observability.alerts.*`)"
        ),
    )
    return pages
