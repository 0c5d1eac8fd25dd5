"""OpenTelemetry spans of the operator: one per rollout tick, a child per step of it.

Exported over OTLP/HTTP when ``otlp_endpoint`` is set; otherwise the tracer is a no-op
(nothing is recorded, nothing is sent). The provider is the operator's own, not the
process-global one, so an in-process test reads exactly the operator's spans.
"""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import NoOpTracer, Tracer

from llmops_operator.settings import OperatorSettings

_NAME = "llmops_operator"


def build_tracer(settings: OperatorSettings, exporter: SpanExporter | None = None) -> Tracer:
    """A tracer exporting to ``settings.otlp_endpoint`` (and to `exporter`), or a no-op one."""
    if not settings.otlp_endpoint and exporter is None:
        return NoOpTracer()
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint))
        )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer(_NAME)


def deployment_attributes(namespace: str, name: str) -> dict[str, str]:
    """The attributes every span of one ModelDeployment carries."""
    return {"k8s.namespace.name": namespace, "llmops.modeldeployment": name}
