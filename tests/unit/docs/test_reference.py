"""The generated reference pages cover everything their sources define, and nothing is stale.

Each check walks the source its own way (not through the renderer's walker), so a renderer that
starts to drop something fails here. The alerts page needs Helm to render the rules: it is
checked in tests/integration/docs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from prometheus_client.metrics import MetricWrapperBase

import llmops_operator.metrics as operator_metrics
from llmops.app import app
from llmops.docs_site import reference_pages
from llmops_gateway.clients.metrics import GatewayMetrics
from llmops_infra.charts import CHARTS_DIR, load_crd
from llmops_infra.charts import docs as chart_docs
from llmops_infra.settings import REPO_ROOT
from llmops_operator.plugin import app as plugin

PAGES = reference_pages(rules_yaml="groups: []")
CHARTS = [d.name for d in chart_docs.chart_dirs(CHARTS_DIR)]


def test_should_generate_a_page_per_chart_and_one_per_reference() -> None:
    assert set(PAGES) == {
        *(f"reference/charts/{chart}.md" for chart in CHARTS),
        "reference/modeldeployment.md",
        "reference/cli.md",
        "reference/kubectl-llmops.md",
        "reference/metrics.md",
        "reference/alerts.md",
    }


def test_should_never_commit_a_generated_page() -> None:
    committed = [path for path in PAGES if (REPO_ROOT / "docs" / path).exists()]

    assert committed == [], "generated at build time: delete the file from docs/"


@pytest.mark.parametrize("chart", CHARTS)
def test_should_list_every_value_of_every_chart(chart: str) -> None:
    page = PAGES[f"reference/charts/{chart}.md"]
    rows = chart_docs.chart_doc(chart_docs.load_chart(CHARTS_DIR / chart)).rows

    missing = [r.key for r in rows if f"| `{r.key}` |" not in page]

    assert rows
    assert missing == []


def test_the_chart_pages_are_the_chart_readmes() -> None:
    """One generator for both (`llmops charts docs`): the committed READMEs match the pages
    (tests/unit/charts/test_docs.py keeps the READMEs current)."""
    for chart in CHARTS:
        readme = (CHARTS_DIR / chart / "README.md").read_text()
        assert PAGES[f"reference/charts/{chart}.md"] == readme, chart


def _schema_paths(node: dict[str, Any], prefix: str) -> Iterator[str]:
    for name, child in (node.get("properties") or {}).items():
        yield f"{prefix}{name}"
        yield from _schema_paths(child, f"{prefix}{name}.")
    items = node.get("items")
    if isinstance(items, dict):
        yield from _schema_paths(items, f"{prefix[:-1]}[].")
    values = node.get("additionalProperties")
    if isinstance(values, dict):
        yield from _schema_paths(values, f"{prefix}*.")


def test_should_list_every_field_of_the_crd() -> None:
    page = PAGES["reference/modeldeployment.md"]
    schema = load_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    paths = [p for p in _schema_paths(schema, "") if p not in ("apiVersion", "kind", "metadata")]

    missing = [p for p in paths if f"| `{p}` |" not in page]

    assert len(paths) > 200
    assert missing == []


def _command_paths(command: Any, path: str) -> Iterator[str]:
    yield path
    for name, child in getattr(command, "commands", {}).items():
        if not child.hidden:
            yield from _command_paths(child, f"{path} {name}")


@pytest.mark.parametrize(
    ("prog", "typer_app", "page"),
    [("llmops", app, "cli.md"), ("kubectl llmops", plugin, "kubectl-llmops.md")],
)
def test_should_list_every_command_with_its_options(
    prog: str, typer_app: typer.Typer, page: str
) -> None:
    text = PAGES[f"reference/{page}"]
    root = typer.main.get_command(typer_app)
    paths = list(_command_paths(root, prog))

    missing = [p for p in paths if f"`{p}` {{ #{p.replace(' ', '-')} }}" not in text]

    assert len(paths) > 8
    assert missing == []
    options = {opt for p in root.params for opt in p.opts}
    assert all(f"`{opt}" in text for opt in options if opt.startswith("--"))


def test_should_list_every_option_of_a_command() -> None:
    text = PAGES["reference/cli.md"]
    install = typer.main.get_command(app).commands["install"]  # type: ignore[attr-defined]
    section = text.split("{ #llmops-install }", 1)[1].split("\n#", 1)[0]

    assert {opt for p in install.params for opt in p.opts} <= set(
        re.findall(r"(--?[a-z][a-z-]*)", section)
    )


def test_should_list_every_metric_of_the_gateway_and_the_operator() -> None:
    page = PAGES["reference/metrics.md"]
    objects = [*vars(GatewayMetrics()).values(), *vars(operator_metrics).values()]
    metrics = [o for o in objects if isinstance(o, MetricWrapperBase)]
    names = [
        m.describe()[0].name + ("_total" if m.describe()[0].type == "counter" else "")
        for m in metrics
    ]

    missing = [n for n in names if f"| `{n}` |" not in page]

    assert len(names) >= 20
    assert missing == []
