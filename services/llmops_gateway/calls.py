"""One client request on its way to a backend: its context, routing plan, span, metrics
and accounting. `llmops_gateway.dispatch` sends it; `llmops_gateway.streaming` relays
streams."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind

from llmops_contracts.routing import Backend, Route
from llmops_gateway.domain.compat import chat_to_completion_request
from llmops_gateway.domain.errors import (
    GatewayError,
    InvalidRequestError,
    NotFoundError,
)
from llmops_gateway.domain.guardrails import screen_pii
from llmops_gateway.domain.prompts import CHAT_STOP, render_chat_prompt
from llmops_gateway.domain.routing import (
    NoBackendError,
    RoutingPlan,
    plan_backends,
    sticky_fraction,
)
from llmops_gateway.governance import Caller
from llmops_gateway.runtime import Runtime, ServedResponse
from llmops_gateway.telemetry import PROVIDER_NAME, inject_headers

# Fields of the gateway's own API that never reach a backend.
_GATEWAY_FIELDS = ("rag_filter",)
REVISION_HEADER = "x-llmops-revision"
BACKEND_HEADER = "x-llmops-backend"
OPERATIONS = {
    "chat": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
    "rag": "chat",
}


@dataclass
class Call:
    """One client request on its way through the gateway."""

    runtime: Runtime
    route: str  # API endpoint label: chat | completions | embeddings | rag | ingest
    alias: str
    caller: Caller
    headers: Mapping[str, str]
    trace_context: Context
    started: float = field(default_factory=time.perf_counter)
    revision: str = ""
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def labels(self) -> tuple[str, str, str]:
        return self.route, self.alias, self.revision

    def count_error(self, err: GatewayError) -> None:
        metrics = self.runtime.metrics
        metrics.errors.labels(*self.labels(), err.code).inc()
        metrics.requests.labels(*self.labels(), str(err.status)).inc()
        err.counted = True


@dataclass(frozen=True)
class Prepared:
    """The upstream request for one backend (RAG may differ per backend revision)."""

    path: str
    body: dict[str, Any]
    convert_chat: bool = False  # completion backend answering a chat request
    citations: list[dict[str, Any]] | None = None
    strip_usage: bool = False  # client did not ask for stream usage; the gateway did


Prepare = Callable[[Backend], Awaitable[Prepared]]


def resolve_route(runtime: Runtime, alias: str, kind: str) -> Route:
    """The alias's route from the table in force, or 404 ``model_not_found``."""
    route = runtime.routing.table.routes.get(alias)
    if route is None:
        raise NotFoundError(
            f"The model `{alias}` does not exist.", code="model_not_found", param="model"
        )
    if route.kind != kind:
        raise InvalidRequestError(
            f"The model `{alias}` is an {route.kind} model and cannot serve this endpoint.",
            code="wrong_model_kind",
            param="model",
        )
    return route


def make_plan(call: Call, route: Route, body: Mapping[str, Any]) -> RoutingPlan:
    """Pick the backend order: pinned revision header, sticky key, or a weighted draw."""
    runtime = call.runtime
    pinned = call.headers.get(REVISION_HEADER) or None
    fraction = runtime.rng.random()
    if route.sticky == "user" and body.get("user"):
        fraction = sticky_fraction(str(body["user"]), call.alias)
    elif route.sticky and route.sticky.startswith("header:"):
        key = call.headers.get(route.sticky.removeprefix("header:").lower())
        if key:
            fraction = sticky_fraction(key, call.alias)
    try:
        return plan_backends(
            call.alias,
            route,
            fraction=fraction,
            pinned_revision=pinned,
            down=runtime.health.down(time.monotonic()),
        )
    except NoBackendError as err:
        raise NotFoundError(str(err), code="revision_not_found") from err


def upstream_headers(call: Call, span: Span) -> dict[str, str]:
    headers = {"x-request-id": call.request_id}
    return inject_headers(headers, trace.set_span_in_context(span, call.trace_context))


def start_span(call: Call, backend: Backend, body: Mapping[str, Any]) -> Span:
    operation = OPERATIONS[call.route]
    span = call.runtime.tracer.start_span(
        f"generate {backend.model}" if operation != "embeddings" else f"embed {backend.model}",
        context=call.trace_context,
        kind=SpanKind.CLIENT,
    )
    host = httpx.URL(backend.url)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": PROVIDER_NAME,
        "gen_ai.request.model": backend.model,
        "server.address": host.host,
        "server.port": host.port or 80,
        "llmops.model_alias": call.alias,
        "llmops.revision": backend.revision,
        "llmops.backend": backend.name,
    }
    for key, attribute in (
        ("max_tokens", "gen_ai.request.max_tokens"),
        ("temperature", "gen_ai.request.temperature"),
        ("top_p", "gen_ai.request.top_p"),
    ):
        if isinstance(body.get(key), int | float):
            attributes[attribute] = body[key]
    span.set_attributes(attributes)
    return span


def record_usage_on_span(span: Span, usage: Mapping[str, Any] | None) -> None:
    if usage:
        span.set_attribute("gen_ai.usage.input_tokens", int(usage.get("prompt_tokens") or 0))
        span.set_attribute("gen_ai.usage.output_tokens", int(usage.get("completion_tokens") or 0))


def account(call: Call, usage: Mapping[str, Any] | None) -> None:
    """Tokens in/out into metrics and the caller's team and key counters."""
    prompt = int((usage or {}).get("prompt_tokens") or 0)
    completion = int((usage or {}).get("completion_tokens") or 0)
    metrics = call.runtime.metrics
    metrics.prompt_tokens.labels(*call.labels()).inc(prompt)
    metrics.completion_tokens.labels(*call.labels()).inc(completion)
    call.runtime.governance.record(call.caller, prompt, completion)


def redact_output(call: Call, body: dict[str, Any]) -> None:
    """Apply the output PII policy to every choice's text (non-streamed responses)."""
    policy = call.runtime.settings.guard_pii_output
    if policy == "off":
        return
    for choice in body.get("choices", []):
        holder, key = (
            (choice.get("message"), "content") if "message" in choice else (choice, "text")
        )
        if not isinstance(holder, dict) or not isinstance(holder.get(key), str):
            continue
        text, decision = screen_pii(
            holder[key], "flag" if policy == "block" else policy, "pii_output"
        )
        holder[key] = text
        call.runtime.record_decision(call.route, call.alias, decision)


def served_headers(call: Call, backend: Backend) -> dict[str, str]:
    return {
        REVISION_HEADER: backend.revision,
        BACKEND_HEADER: backend.name,
        "x-request-id": call.request_id,
    }


def finish_ok(call: Call, backend: Backend, response_id: str) -> None:
    metrics = call.runtime.metrics
    metrics.requests.labels(*call.labels(), "200").inc()
    metrics.latency.labels(*call.labels()).observe(time.perf_counter() - call.started)
    call.runtime.remember_response(
        response_id,
        ServedResponse(alias=call.alias, revision=backend.revision, team=call.caller.team),
    )


def wants_stream_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options") or {}
    return bool(options.get("include_usage"))


def with_stream_usage(body: dict[str, Any]) -> dict[str, Any]:
    """Ask the backend for usage in streams: the gateway needs it for metrics and budgets."""
    if not body.get("stream"):
        return body
    return {**body, "stream_options": {**(body.get("stream_options") or {}), "include_usage": True}}


def build_chat_call(
    backend: Backend, body: dict[str, Any], messages: list[dict[str, Any]]
) -> Prepared:
    """The upstream chat request for a backend, rendered as a completion when it has no
    chat template (``chat: completion``)."""
    strip = bool(body.get("stream")) and not wants_stream_usage(body)
    upstream = {key: value for key, value in body.items() if key not in _GATEWAY_FIELDS}
    upstream = with_stream_usage({**upstream, "messages": messages, "model": backend.model})
    if backend.chat == "completion":
        prompt = render_chat_prompt(messages)
        request = chat_to_completion_request(upstream, prompt, backend.model, CHAT_STOP)
        return Prepared("/completions", request, convert_chat=True, strip_usage=strip)
    return Prepared("/chat/completions", upstream, strip_usage=strip)
