"""The reference renderers: pure functions from the sources' own objects to Markdown."""

from __future__ import annotations

from typing import Annotated, Any

import typer
import typer.main
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from llmops_infra.docs.cli import render_cli_reference, walk_commands
from llmops_infra.docs.crd import render_crd_reference, schema_type, walk_fields
from llmops_infra.docs.markdown import cell, escape
from llmops_infra.docs.metrics import MetricGroup, metrics_of, render_metrics_reference
from llmops_infra.docs.rules import parse_rules, render_rules_reference, runbook_link, site_page


def _app() -> typer.Typer:
    app = typer.Typer(help="The tool.", no_args_is_help=True)
    cluster = typer.Typer(help="The cluster.")

    @cluster.command()
    def up(
        timeout: Annotated[int, typer.Option("--timeout", help="Seconds to wait.")] = 30,
    ) -> None:
        """Start the cluster <name>."""

    @cluster.command(hidden=True)
    def secret() -> None:
        """Not for users."""

    @app.command()
    def status(name: Annotated[str, typer.Argument(help="Which one.")]) -> None:
        """Show one."""

    app.add_typer(cluster, name="cluster")
    return app


def test_should_walk_every_visible_command_depth_first() -> None:
    docs = list(walk_commands(typer.main.get_command(_app()), "tool"))

    assert [(d.path, d.depth) for d in docs] == [
        ("tool", 0),
        ("tool status", 1),
        ("tool cluster", 1),
        ("tool cluster up", 2),
    ]
    up = docs[-1]
    assert up.help == "Start the cluster <name>."
    assert up.usage == "tool cluster up [OPTIONS]"
    assert up.params[0][0] == "--timeout <int>"
    assert "Seconds to wait." in up.params[0][1]
    assert "[default: 30]" in up.params[0][1]


def test_should_render_a_section_per_command_with_an_anchor_and_its_options() -> None:
    page = render_cli_reference(typer.main.get_command(_app()), "tool", "Generated.")

    assert page.startswith("# `tool` { #tool }\n\nGenerated.")
    assert "## `tool cluster` { #tool-cluster }" in page
    assert "### `tool cluster up` { #tool-cluster-up }" in page
    assert "Start the cluster &lt;name&gt;." in page  # not an HTML tag
    assert "Commands: [`up`](#tool-cluster-up)." in page
    assert "| `--timeout <int>` | Seconds to wait.  [default: 30] |" in page
    assert "secret" not in page


CRD: dict[str, Any] = {
    "spec": {
        "group": "example.dev",
        "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": "widgets", "shortNames": ["wd"]},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {
                                    "size": {
                                        "type": "integer",
                                        "minimum": 1,
                                        "default": 2,
                                        "description": "How big.",
                                    },
                                    "mode": {"type": "string", "enum": ["a", "b"]},
                                    "labels": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string"},
                                    },
                                    "steps": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "x-kubernetes-validations": [
                                                {"rule": "...", "message": "one of a or b"}
                                            ],
                                            "properties": {
                                                "pause": {"type": "string", "pattern": "^a|b$"}
                                            },
                                        },
                                    },
                                },
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
            }
        ],
    }
}


def test_should_walk_every_field_of_the_schema_with_lists_and_maps() -> None:
    schema = CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    fields = {f.path: f for f in walk_fields(schema)}

    assert list(fields) == [
        "spec",
        "spec.size",
        "spec.mode",
        "spec.labels",
        "spec.steps",
        "spec.steps[]",
        "spec.steps[].pause",
        "status",
    ]
    assert fields["spec.size"].required
    assert fields["spec.size"].default == "2"
    assert fields["spec.size"].constraints == (">= 1",)
    assert fields["spec.mode"].constraints == ('one of "a", "b"',)
    assert fields["spec.steps[]"].constraints == ("rule: one of a or b",)
    assert fields["spec.labels"].type == "map of string"
    assert fields["spec.steps"].type == "list of object"
    assert fields["status"].type == "object (any fields)"
    assert schema_type({"type": "string", "format": "date-time"}) == "string (date-time)"


def test_should_render_one_section_per_group_of_fields() -> None:
    page = render_crd_reference(CRD)

    assert page.startswith("# Widget\n\n**Group:** `example.dev`")
    assert "### `spec` { #v1-spec }" in page
    assert "| `spec.size` | int | yes | `2` | &gt;= 1 | How big. |" in page
    assert "| `spec.steps[].pause` | string |  |  | pattern `^a|b$` |  |" in page  # no \\|


def test_should_read_metrics_from_their_objects() -> None:
    registry = CollectorRegistry()
    objects = {
        "requests": Counter("x_requests", "Requests.", ["route", "code"], registry=registry),
        "latency": Histogram("x_seconds", "Latency.", buckets=(0.1, 1), registry=registry),
        "up": Gauge("x_up", "Up.", registry=registry),
        "not_a_metric": 3,
    }

    docs = metrics_of(objects.values())

    assert [(d.name, d.type, d.labels) for d in docs] == [
        ("x_requests_total", "counter", ("route", "code")),
        ("x_seconds", "histogram", ()),
        ("x_up", "gauge", ()),
    ]
    page = render_metrics_reference([MetricGroup("X", "At /metrics.", docs)])
    assert "| `x_seconds` | histogram (buckets 0.1, 1) |  | Latency. |" in page
    assert "| `x_requests_total` | counter | `route`, `code` | Requests. |" in page


RULES = """
groups:
  - name: g
    rules:
      - record: job:x:rate5m
        expr: sum(rate(x[5m]))
      - alert: XHigh
        expr: job:x:rate5m
          > 2
        for: 10m
        labels: {severity: critical}
        annotations:
          summary: "x in <ns> above 2"
          runbook_url: https://example.com/org/llmops/blob/main/docs/runbooks/x.md#x-high
      - alert: XGone
        expr: absent(x)
"""


def test_should_link_a_runbook_url_of_this_site_to_its_page_and_anchor() -> None:
    assert site_page("https://h/o/llmops/blob/main/docs/runbooks/gw.md#down") == (
        "runbooks/gw.md",
        "#down",
    )
    assert site_page("docs/runbooks/gw.md") == ("runbooks/gw.md", "")
    assert site_page("https://wiki.example.com/page") is None
    assert runbook_link("docs/runbooks/gw.md#down", "reference") == (
        "[runbooks/gw.md#down](../runbooks/gw.md#down)"
    )
    assert runbook_link("https://wiki.example.com/p", "reference") == "<https://wiki.example.com/p>"
    assert runbook_link("", "reference") == "none yet"


def test_should_render_every_alert_and_recording_rule() -> None:
    rules = parse_rules(RULES)
    page = render_rules_reference(rules, "reference")

    assert [a.name for a in rules.alerts] == ["XHigh", "XGone"]
    assert rules.alerts[0].expr == "job:x:rate5m > 2"
    assert "| [XHigh](#xhigh) | critical | 10m |" in page
    assert "### XHigh { #xhigh }" in page
    assert "x in &lt;ns&gt; above 2" in page
    assert "- **Runbook:** [runbooks/x.md#x-high](../runbooks/x.md#x-high)" in page
    assert "- **For:** fires at once" in page
    assert "| `job:x:rate5m` | `sum(rate(x[5m]))` | `g` |" in page


def test_should_escape_html_and_pipes_outside_code_only() -> None:
    assert escape("a <b> `<c>`") == "a &lt;b&gt; `<c>`"
    assert cell("a|b `c|d`\nnext") == "a\\|b `c|d` next"
