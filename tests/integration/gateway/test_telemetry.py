"""OpenTelemetry spans: generate / embed / retrieve with GenAI semantic-convention
attributes, parented to the caller's traceparent. The app runs in-process (to read its
spans from an in-memory exporter) against a real *test* upstream process and a real
Milvus Lite file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmops_gateway.app import create_app
from llmops_gateway.settings import GatewaySettings
from tests.integration.gateway.procs import Proc, backend, upstream, write_table

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    with upstream(tmp_path_factory.mktemp("telemetry"), "up") as proc:
        yield proc


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def client_for(
    app_settings: GatewaySettings,
    exporter: InMemorySpanExporter,
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(app_settings, span_exporter=exporter)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=60
        ) as client,
    ):
        yield client


@pytest.mark.anyio
async def test_should_trace_generation_and_rag_with_genai_attributes(
    up: Proc, tmp_path: Path
) -> None:
    table = write_table(
        tmp_path / "routing.json",
        {
            "chat": {"backends": [backend("gen", up.url, revision="canary")]},
            "emb": {"kind": "embeddings", "backends": [backend("emb", up.url)]},
            "ask": {
                "backends": [
                    backend(
                        "ask", up.url, rag={"collection": "docs", "top_k": 1, "embedder": "emb"}
                    )
                ]
            },
        },
    )
    exporter = InMemorySpanExporter()
    settings = GatewaySettings(
        routing_table=table, milvus_uri=str(tmp_path / "rag.db"), default_embedder="emb"
    )
    async with client_for(settings, exporter) as client:
        chat = await client.post(
            "/v1/chat/completions",
            json={
                "model": "chat",
                "messages": [{"role": "user", "content": "x"}],
                "max_tokens": 3,
                "temperature": 0.5,
            },
            headers={"traceparent": TRACEPARENT},
        )
        ingest = await client.post(
            "/v1/ingest",
            json={"collection": "docs", "documents": [{"name": "a.md", "text": "Logs: 30 days."}]},
        )
        exporter.clear()
        rag = await client.post(
            "/v1/rag/query",
            json={"model": "ask", "query": "logs?"},
            headers={"traceparent": TRACEPARENT},
        )

    assert chat.status_code == ingest.status_code == rag.status_code == 200
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {"rag ask", "retrieve docs", "embed model-emb", "generate model-ask"}
    root, retrieve, embed, generate = (
        spans["rag ask"],
        spans["retrieve docs"],
        spans["embed model-emb"],
        spans["generate model-ask"],
    )
    assert {span.context.trace_id for span in spans.values()} == {int(TRACE_ID, 16)}
    assert root.parent is not None and root.parent.span_id == int("00f067aa0ba902b7", 16)
    assert retrieve.parent is not None and retrieve.parent.span_id == root.context.span_id
    assert generate.parent is not None and generate.parent.span_id == root.context.span_id
    assert embed.parent is not None and embed.parent.span_id == retrieve.context.span_id
    assert generate.attributes is not None and embed.attributes is not None
    assert generate.attributes["gen_ai.operation.name"] == "chat"
    assert generate.attributes["gen_ai.provider.name"] == "vllm"
    assert generate.attributes["gen_ai.request.model"] == "model-ask"
    assert generate.attributes["gen_ai.usage.output_tokens"] == 16
    assert generate.attributes["gen_ai.response.id"]
    assert embed.attributes["gen_ai.operation.name"] == "embeddings"
    assert retrieve.attributes is not None
    assert retrieve.attributes["gen_ai.data_source.id"] == "docs"


@pytest.mark.anyio
async def test_should_label_the_revision_and_sampling_on_the_generate_span(
    up: Proc, tmp_path: Path
) -> None:
    table = write_table(
        tmp_path / "routing.json",
        {"chat": {"backends": [backend("gen", up.url, revision="canary")]}},
    )
    exporter = InMemorySpanExporter()
    async with client_for(GatewaySettings(routing_table=table), exporter) as client:
        response = await client.post(
            "/v1/chat/completions",
            json={
                "model": "chat",
                "messages": [{"role": "user", "content": "x"}],
                "max_tokens": 3,
                "temperature": 0.5,
                "stream": True,
            },
            headers={"traceparent": TRACEPARENT},
        )
        assert response.status_code == 200

    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {"chat chat", "generate model-gen"}
    root, span = spans["chat chat"], spans["generate model-gen"]
    assert root.parent is not None and root.parent.span_id == int("00f067aa0ba902b7", 16)
    assert span.parent is not None and span.parent.span_id == root.context.span_id
    attributes = dict(span.attributes or {})
    assert attributes["llmops.revision"] == "canary"
    assert attributes["gen_ai.request.temperature"] == 0.5
    assert attributes["gen_ai.request.max_tokens"] == 3
    assert attributes["gen_ai.usage.output_tokens"] == 3
