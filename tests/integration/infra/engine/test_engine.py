"""The real engine: vLLM on the CPU serving Gemma 3 270M and MiniLM over the OpenAI API."""

from __future__ import annotations

import math

import httpx
import pytest

from llmops_infra.engine import EMBED, EMBED_MODEL, GENERATE, GENERATE_MODEL, EngineHandle

pytestmark = pytest.mark.integration

# Gemma 3 270M is a base model: a question/answer framing gets the fact out of it, where
# "The capital of France is" alone continues with "the capital of the country of France".
FACT_PROMPT = "Q: What is the capital of France?\nA: The capital of France is"


def _complete(engine: EngineHandle, prompt: str, max_tokens: int) -> dict[str, object]:
    response = httpx.post(
        f"{engine.url(GENERATE)}/completions",
        json={
            "model": GENERATE_MODEL,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": 0,
        },
        timeout=120.0,
    )
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body


def _embed(engine: EngineHandle, texts: list[str]) -> list[list[float]]:
    response = httpx.post(
        f"{engine.url(EMBED)}/embeddings",
        json={"model": EMBED_MODEL, "input": texts},
        timeout=60.0,
    )
    response.raise_for_status()
    return [item["embedding"] for item in response.json()["data"]]


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def _metric(engine: EngineHandle, server: str, name: str) -> float:
    """Sum of one metric over its label sets, from the server's Prometheus text."""
    text = httpx.get(engine.url(server).removesuffix("/v1") + "/metrics", timeout=10.0).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith((f"{name}{{", f"{name} "))
    )


def test_greedy_completion_states_the_fact(engine: EngineHandle) -> None:
    body = _complete(engine, FACT_PROMPT, max_tokens=8)
    choice = body["choices"][0]  # type: ignore[index]
    assert "Paris" in choice["text"], choice
    usage = body["usage"]
    assert usage["completion_tokens"] <= 8  # type: ignore[index]
    assert usage["prompt_tokens"] > 10  # type: ignore[index]


def test_greedy_completion_is_deterministic(engine: EngineHandle) -> None:
    first = _complete(engine, "Kubernetes is an open-source system for", max_tokens=6)
    second = _complete(engine, "Kubernetes is an open-source system for", max_tokens=6)
    assert first["choices"][0]["text"] == second["choices"][0]["text"]  # type: ignore[index]


def test_the_models_are_listed_under_their_served_names(engine: EngineHandle) -> None:
    for server, model in ((GENERATE, GENERATE_MODEL), (EMBED, EMBED_MODEL)):
        listed = httpx.get(f"{engine.url(server)}/models", timeout=10.0).json()
        assert [item["id"] for item in listed["data"]] == [model]


def test_embeddings_rank_a_paraphrase_above_unrelated_text(engine: EngineHandle) -> None:
    anchor, paraphrase, unrelated = _embed(
        engine,
        [
            "The cat sits on the mat.",
            "A kitten is resting on a rug.",
            "Kubernetes schedules containers onto nodes.",
        ],
    )
    assert len(anchor) == 384
    assert _cosine(anchor, paraphrase) > 0.5
    assert _cosine(anchor, paraphrase) > _cosine(anchor, unrelated) + 0.3


def test_both_servers_expose_vllm_metrics(engine: EngineHandle) -> None:
    for server in (GENERATE, EMBED):
        text = httpx.get(engine.url(server).removesuffix("/v1") + "/metrics", timeout=10.0).text
        assert "vllm:num_requests_running" in text
        assert "vllm:prompt_tokens_total" in text


def test_generation_tokens_counter_grows_with_a_request(engine: EngineHandle) -> None:
    before = _metric(engine, GENERATE, "vllm:generation_tokens_total")
    body = _complete(engine, "The sky is", max_tokens=4)
    generated = body["usage"]["completion_tokens"]  # type: ignore[index]
    after = _metric(engine, GENERATE, "vllm:generation_tokens_total")
    assert after - before == generated > 0
