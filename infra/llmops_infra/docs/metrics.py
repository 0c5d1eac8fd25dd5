"""The metrics reference: name, type, labels and help of every Prometheus metric we export.

Read from the metric objects themselves (``prometheus_client`` collectors), so a metric added
to ``llmops_gateway.clients.metrics`` or ``llmops_operator.metrics`` is on the page at the next
build.
The names are those a query uses: a counter ``x`` is scraped as ``x_total``, a histogram as
``x_bucket``, ``x_sum`` and ``x_count``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.metrics import MetricWrapperBase

from llmops_infra.docs.markdown import cell, code, table


@dataclass(frozen=True)
class MetricDoc:
    name: str
    """As queried: ``llmops_gateway_requests_total``."""
    type: str
    labels: tuple[str, ...]
    help: str
    buckets: tuple[float, ...] = ()


@dataclass(frozen=True)
class MetricGroup:
    """The metrics of one component, and where it serves them."""

    title: str
    endpoint: str
    metrics: tuple[MetricDoc, ...]


def describe_metric(metric: MetricWrapperBase) -> MetricDoc:
    """One metric object as a row. Labels and buckets are only kept in the collector's
    attributes (``describe()`` drops them), hence the underscored names."""
    (family,) = metric.describe()
    name = f"{family.name}_total" if family.type == "counter" else family.name
    bounds: tuple[float, ...] = tuple(getattr(metric, "_upper_bounds", ()))
    return MetricDoc(
        name=name,
        type=family.type,
        labels=tuple(metric._labelnames),
        help=family.documentation,
        buckets=tuple(b for b in bounds if b != float("inf")),
    )


def metrics_of(objects: Iterable[object]) -> tuple[MetricDoc, ...]:
    """Every metric among ``objects`` (e.g. a module's or an instance's attributes), by name."""
    found = {id(o): o for o in objects if isinstance(o, MetricWrapperBase)}
    return tuple(sorted((describe_metric(m) for m in found.values()), key=lambda d: d.name))


def _type(doc: MetricDoc) -> str:
    if not doc.buckets:
        return doc.type
    return f"{doc.type} (buckets {', '.join(f'{b:g}' for b in doc.buckets)})"


def render_metrics_reference(groups: Iterable[MetricGroup], intro: str = "") -> str:
    parts = ["# Metrics"]
    if intro:
        parts.append(intro)
    for group in groups:
        parts.append(f"## {group.title}")
        parts.append(group.endpoint)
        rows = [
            (
                code(m.name),
                cell(_type(m)),
                ", ".join(f"`{label}`" for label in m.labels),
                cell(m.help),
            )
            for m in group.metrics
        ]
        parts.append(table(("Metric", "Type", "Labels", "Help"), rows))
    return "\n\n".join(parts) + "\n"
