"""OpenTelemetry tracing: a tracer provider per app, W3C trace context in and out.

Spans follow the GenAI semantic conventions (``gen_ai.operation.name``,
``gen_ai.request.model``, ``gen_ai.usage.input_tokens`` ...). The provider is the app's
own (not the process-global one), so tests and several apps in one process do not mix
spans; the incoming ``traceparent`` becomes the parent of the gateway's spans and the
current span's context is injected into every upstream request, so vLLM's spans (when it
traces) join the same trace.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
PROVIDER_NAME = "vllm"  # gen_ai.provider.name: every backend speaks vLLM's OpenAI API


def build_tracer_provider(
    service_name: str, otlp_endpoint: str, exporter: SpanExporter | None = None
) -> TracerProvider:
    """A provider exporting to OTLP/HTTP when an endpoint is set (and to ``exporter``)."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def get_tracer(provider: TracerProvider) -> Tracer:
    return provider.get_tracer("llmops_gateway")


def extract_context(headers: Mapping[str, str]) -> Context:
    """The caller's trace context (from ``traceparent``), or an empty one."""
    return _PROPAGATOR.extract(carrier=dict(headers))


def inject_headers(headers: dict[str, str], context: Context | None = None) -> dict[str, str]:
    """Add ``traceparent`` (and ``tracestate``) of the current span to ``headers``."""
    _PROPAGATOR.inject(carrier=headers, context=context)
    return headers
