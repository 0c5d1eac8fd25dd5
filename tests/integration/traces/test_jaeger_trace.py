"""One RAG request's trace, read back from a real Jaeger: the gateway's spans (its server
span, retrieval, embedding, generation) and vLLM's own ``llm_request`` span in one trace
whose id is the caller's ``traceparent``, with GenAI semantic-convention attributes.

Real processes only (conftest.py starts them early): the collector and Jaeger built from
infra/otel (`make test` builds them first; the fixture builds them if they are missing), a
vLLM generate server of this session started with ``--otlp-traces-endpoint`` on a port of
its own (the shared engines are never restarted), the shared embedder, the gateway as a
uvicorn process exporting OTLP/HTTP to the collector, and Milvus Lite.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from llmops_infra.engine import EngineHandle
from llmops_infra.engine.servers import GENERATE_MODEL
from llmops_infra.traces import TracesHandle
from tests.integration.gateway.procs import gateway, write_table
from tests.jaeger import read_trace

TRACE_ID = "5c3b7e0d9a1f4e2b8c6d4a2f1e0b9c8d"
CALLER_SPAN = "a1b2c3d4e5f60718"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN}-01"
MINILM = "all-minilm-l6-v2"
VLLM_SERVICE = "vllm-generate-traced"
# The gateway's and vLLM's batch span processors export every 5 s; the collector and
# Jaeger add well under a second.
READ_BACK_TIMEOUT_S = 30.0


def test_should_store_one_rag_trace_from_the_gateway_to_vllm_in_jaeger(
    trace_store: TracesHandle, traced_generate: str, engine: EngineHandle, tmp_path: Path
) -> None:
    gemma = {
        "name": "gemma-rag",
        "url": traced_generate,
        "model": GENERATE_MODEL,
        "chat": "completion",
        "revision": "canary",
    }
    rag = {"collection": "policies", "top_k": 1, "template": "rag-v1", "embedder": MINILM}
    table = write_table(
        tmp_path / "routing.json",
        {
            MINILM: {
                "kind": "embeddings",
                "backends": [{"name": "minilm", "url": engine.url("embed"), "model": MINILM}],
            },
            "docs-qa": {"backends": [{**gemma, "rag": rag}]},
        },
    )
    with gateway(
        tmp_path,
        routing_table=table,
        milvus_uri=tmp_path / "rag.db",
        default_embedder=MINILM,
        otlp_endpoint=trace_store.ports.otlp_http_traces_url,
    ) as proc:
        ingest = httpx.post(
            proc.url + "/v1/ingest",
            json={
                "collection": "policies",
                "documents": [{"name": "retention.md", "text": "Application logs: 30 days."}],
            },
            timeout=60,
        )
        answer = httpx.post(
            proc.url + "/v1/rag/query",
            json={"model": "docs-qa", "query": "How long are logs kept?", "max_tokens": 8},
            headers={"traceparent": TRACEPARENT},
            timeout=120,
        )
        assert ingest.status_code == 200, ingest.text
        assert answer.status_code == 200, answer.text
        gateway_spans = {"rag docs-qa", "retrieve policies", f"embed {MINILM}",
                         f"generate {GENERATE_MODEL}"}  # fmt: skip
        found = read_trace(
            trace_store.ports.query_url,
            TRACE_ID,
            {("llmops-gateway", op) for op in gateway_spans} | {(VLLM_SERVICE, "llm_request")},
            timeout_s=READ_BACK_TIMEOUT_S,
        )

    services = {key: process["serviceName"] for key, process in found["processes"].items()}
    spans = {span["operationName"]: span for span in found["spans"]}
    tags = {name: {t["key"]: t["value"] for t in span["tags"]} for name, span in spans.items()}

    def parent(name: str) -> str:
        [ref] = [r for r in spans[name]["references"] if r["refType"] == "CHILD_OF"]
        assert ref["traceID"] == TRACE_ID
        return str(ref["spanID"])

    def span_id(name: str) -> str:
        return str(spans[name]["spanID"])

    # The trace id is the caller's, and every span (vLLM's too) is in it.
    assert found["traceID"] == TRACE_ID
    assert {span["traceID"] for span in found["spans"]} == {TRACE_ID}
    # gateway -> retrieval -> embedding, gateway -> generation -> vLLM's own span
    assert parent("rag docs-qa") == CALLER_SPAN
    assert parent("retrieve policies") == span_id("rag docs-qa")
    assert parent(f"embed {MINILM}") == span_id("retrieve policies")
    assert parent(f"generate {GENERATE_MODEL}") == span_id("rag docs-qa")
    assert parent("llm_request") == span_id(f"generate {GENERATE_MODEL}")
    assert services[spans["rag docs-qa"]["processID"]] == "llmops-gateway"
    assert services[spans["llm_request"]["processID"]] == VLLM_SERVICE
    # GenAI attributes: model, revision, token counts, on both sides of the wire
    generate, vllm = tags[f"generate {GENERATE_MODEL}"], tags["llm_request"]
    usage = answer.json()["usage"]
    assert generate["gen_ai.operation.name"] == "chat"
    assert generate["gen_ai.request.model"] == GENERATE_MODEL
    assert generate["llmops.revision"] == "canary"
    assert generate["gen_ai.usage.input_tokens"] == usage["prompt_tokens"] > 0
    assert generate["gen_ai.usage.output_tokens"] == usage["completion_tokens"] > 0
    assert vllm["gen_ai.usage.prompt_tokens"] == usage["prompt_tokens"]
    assert vllm["gen_ai.usage.completion_tokens"] == usage["completion_tokens"]
    assert vllm["gen_ai.request.max_tokens"] == 8
    assert tags[f"embed {MINILM}"]["gen_ai.request.model"] == MINILM
    assert tags["retrieve policies"]["gen_ai.data_source.id"] == "policies"
