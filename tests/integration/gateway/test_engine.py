"""The gateway in front of the real engine: vLLM on the CPU serving Gemma 3 270M (a base
model, no chat template) and the MiniLM embedder, with real Milvus Lite. Kept few and
short (the engine makes ~9 tokens/s): chat through the official client, cancellation
of a real generation on disconnect, and RAG end to end with real embeddings."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from llmops_infra.engine import EngineHandle
from tests.integration.gateway.procs import Proc, gateway, write_table

GEMMA = "gemma-3-270m"
MINILM = "all-minilm-l6-v2"
RETENTION = (
    "Log retention policy. Application logs are kept for 30 days in the hot store and then "
    "deleted. Audit logs are kept for 400 days. Metrics are kept for 13 months."
)


@dataclass
class Stack:
    gateway: Proc
    engine: EngineHandle

    @property
    def client(self) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.gateway.url + "/v1", api_key="x", max_retries=0, timeout=120
        )


@pytest.fixture(scope="module")
def stack(engine: EngineHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("engine")
    generate, embed = engine.url("generate"), engine.url("embed")
    gemma = {"name": "gemma-local", "url": generate, "model": GEMMA, "chat": "completion"}
    table = write_table(
        tmp / "routing.json",
        {
            GEMMA: {"backends": [gemma]},
            MINILM: {
                "kind": "embeddings",
                "backends": [{"name": "minilm", "url": embed, "model": MINILM}],
            },
            "docs-qa": {
                "backends": [
                    {
                        **gemma,
                        "name": "gemma-rag",
                        "rag": {
                            "collection": "policies",
                            "top_k": 2,
                            "template": "rag-v1",
                            "embedder": MINILM,
                        },
                    }
                ]
            },
        },
    )
    with gateway(
        tmp, routing_table=table, milvus_uri=tmp / "rag.db", default_embedder=MINILM
    ) as proc:
        yield Stack(proc, engine)


def running_requests(engine: EngineHandle) -> float:
    metrics = httpx.get(engine.url("generate").removesuffix("/v1") + "/metrics").text
    match = re.search(r"^vllm:num_requests_running\{[^}]*\} ([0-9.]+)$", metrics, re.M)
    assert match, "vLLM exports vllm:num_requests_running"
    return float(match.group(1))


def test_vllm_refuses_chat_for_the_base_model_so_the_gateway_renders_it(stack: Stack) -> None:
    direct = httpx.post(
        stack.engine.url("generate") + "/chat/completions",
        json={
            "model": GEMMA,
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 1,
        },
        timeout=60,
    )

    assert direct.status_code == 400
    assert "chat template" in direct.text


def test_should_answer_chat_on_the_base_model_through_the_openai_client(stack: Stack) -> None:
    answer = stack.client.chat.completions.create(
        model=GEMMA,
        messages=[{"role": "user", "content": "Name a container orchestrator."}],
        max_tokens=8,
        temperature=0,
    )

    assert answer.object == "chat.completion"
    assert answer.choices[0].message.content
    assert answer.usage is not None
    assert 0 < answer.usage.completion_tokens <= 8 and answer.usage.prompt_tokens > 5


def test_should_stream_and_abort_vllm_when_the_client_disconnects(stack: Stack) -> None:
    # Relative to a baseline: other sessions may share the engine.
    baseline = running_requests(stack.engine)
    stream = stack.client.completions.create(
        model=GEMMA,
        prompt="Kubernetes is an open-source system for",
        max_tokens=400,
        temperature=0,
        stream=True,
    )
    first = next(iter(stream))
    assert first.choices[0].text is not None
    assert running_requests(stack.engine) >= baseline + 1

    stream.close()  # the client goes away mid-stream (400 tokens would take ~40 s)

    deadline = time.monotonic() + 10
    while running_requests(stack.engine) > baseline and time.monotonic() < deadline:
        time.sleep(0.2)
    assert running_requests(stack.engine) <= baseline


def test_should_answer_from_ingested_documents_with_real_embeddings(
    stack: Stack, tmp_path: Path
) -> None:
    report = httpx.post(
        stack.gateway.url + "/v1/ingest",
        json={
            "collection": "policies",
            "documents": [
                {"name": "retention.md", "text": RETENTION},
                {
                    "name": "holidays.md",
                    "text": "The office is closed on public holidays and "
                    "between Christmas and New Year.",
                },
            ],
        },
        timeout=120,
    ).json()
    answer = httpx.post(
        stack.gateway.url + "/v1/rag/query",
        json={
            "model": "docs-qa",
            "query": "How long are application logs kept?",
            "max_tokens": 12,
            "temperature": 0,
        },
        timeout=180,
    ).json()

    assert [d["status"] for d in report["documents"]] in (
        ["added", "added"],
        ["unchanged", "unchanged"],
    )
    assert answer["citations"][0]["document"] == "retention.md", answer
    assert answer["citations"][0]["score"] > answer["citations"][1]["score"]
    assert answer["answer"].strip()
    assert answer["usage"]["completion_tokens"] <= 12
