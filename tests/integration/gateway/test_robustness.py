"""Robustness against real processes: fallback to another backend of the alias, 503 when
none is up, no retry after a backend accepted the work, the first-token timeout, and
cancellation of the upstream stream when the client disconnects. Upstreams are fast
OpenAI-compatible *test* upstreams (not vLLM)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway.procs import (
    Proc,
    backend,
    free_port,
    gateway,
    stats,
    upstream,
    write_table,
)


@dataclass
class Stack:
    gateway: Proc
    up: Proc
    slow: Proc
    refusing: Proc
    broken: Proc
    stalled: Proc
    doomed: Proc  # killed by one test, mid-stream


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("robust")
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with (
        upstream(tmp, "up") as up,
        upstream(tmp, "slow", token_delay_ms=100) as slow,
        upstream(tmp, "refusing", fail_status=503) as refusing,
        upstream(tmp, "broken", fail_status=500) as broken,
        upstream(tmp, "stalled", token_delay_ms=3000) as stalled,
        upstream(tmp, "doomed", token_delay_ms=200) as doomed,
    ):
        table = write_table(
            tmp / "routing.json",
            {
                # The heavy backend is down: every request must fall back to "up".
                "fallback": {
                    "backends": [
                        backend("dead", dead, weight=99),
                        backend("up", up.url, weight=1, revision="canary"),
                    ]
                },
                "overloaded": {
                    "backends": [
                        backend("refusing", refusing.url, weight=99),
                        backend("up2", up.url, weight=1),
                    ]
                },
                "none": {"backends": [backend("dead1", dead), backend("dead2", dead)]},
                "broken": {
                    "backends": [
                        backend("broken", broken.url, weight=99),
                        backend("up3", up.url, weight=1),
                    ]
                },
                "slow": {"backends": [backend("slow", slow.url)]},
                "stalled": {"backends": [backend("stalled", stalled.url)]},
                "doomed": {"backends": [backend("doomed", doomed.url)]},
            },
        )
        with gateway(
            tmp, routing_table=table, first_token_timeout_s=1.5, total_timeout_s=4
        ) as proc:
            yield Stack(proc, up, slow, refusing, broken, stalled, doomed)


def chat(stack: Stack, model: str, **extra: object) -> httpx.Response:
    return httpx.post(
        stack.gateway.url + "/v1/chat/completions",
        json={
            "model": model,
            "messages": [{"role": "user", "content": "x"}],
            "max_tokens": 2,
            **extra,
        },
        timeout=30,
    )


def test_should_fall_back_to_another_backend_when_one_is_down(stack: Stack) -> None:
    responses = [chat(stack, "fallback") for _ in range(5)]

    assert [r.status_code for r in responses] == [200] * 5
    assert {r.headers["x-llmops-backend"] for r in responses} == {"up"}


def test_should_fall_back_when_a_backend_answers_503(stack: Stack) -> None:
    response = chat(stack, "overloaded")

    assert response.status_code == 200
    assert response.headers["x-llmops-backend"] == "up2"


def test_should_answer_503_in_openai_shape_when_no_backend_is_up(stack: Stack) -> None:
    response = chat(stack, "none", stream=True)

    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "no_backend_available"
    assert "dead1" in error["message"] and "dead2" in error["message"]
    assert int(response.headers["retry-after"]) >= 1


def test_should_not_retry_a_backend_error_after_the_work_was_accepted(stack: Stack) -> None:
    before = stats(stack.up)["requests"]

    response = chat(stack, "broken")

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    assert stats(stack.up)["requests"] == before


def test_should_answer_504_when_no_token_comes_in_time(stack: Stack) -> None:
    # The stalled upstream waits 3 s per token; the gateway's first-token timeout is 1.5 s.
    started = time.monotonic()
    response = httpx.post(
        stack.gateway.url + "/v1/completions",
        json={
            "model": "stalled",
            "prompt": "x",
            "max_tokens": 2,
            "stream": True,
        },
        timeout=30,
    )

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "first_token_timeout"
    assert time.monotonic() - started < 3


def test_should_cancel_the_upstream_stream_when_the_client_disconnects(stack: Stack) -> None:
    before = stats(stack.slow)
    with httpx.stream(
        "POST",
        stack.gateway.url + "/v1/completions",
        json={
            "model": "slow",
            "prompt": "x",
            "max_tokens": 200,
            "stream": True,
        },
        timeout=30,
    ) as response:
        lines = response.iter_lines()
        received = [next(lines) for _ in range(4)]  # two events (data + blank line each)
        assert received[0].startswith("data: ")
        assert stats(stack.slow)["streams_in_flight"] == before["streams_in_flight"] + 1
    # Leaving the block closes the connection mid-stream (200 tokens would take 20 s).

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        now = stats(stack.slow)
        if now["streams_cancelled"] > before["streams_cancelled"]:
            break
        time.sleep(0.1)
    assert now["streams_cancelled"] == before["streams_cancelled"] + 1
    assert now["streams_in_flight"] == 0
    assert now["streams_completed"] == before["streams_completed"]
    metrics = httpx.get(stack.gateway.url + "/metrics").text
    assert (
        'llmops_gateway_requests_total{code="499",model="slow",revision="stable",'
        'route="completions"} 1.0' in metrics
    )


def test_should_answer_504_when_a_non_streamed_answer_takes_longer_than_the_timeout(
    stack: Stack,
) -> None:
    # Two tokens at 3 s each: 6 s of work, over the 4 s total deadline (a non-streamed
    # answer's first byte is the whole answer, so the total deadline is its only one).
    started = time.monotonic()
    response = chat(stack, "stalled")

    assert response.status_code == 504
    error = response.json()["error"]
    assert error["code"] == "upstream_timeout"
    assert "stalled" in error["message"]
    assert time.monotonic() - started < 5.5


def test_should_end_a_stream_with_an_error_event_at_the_total_deadline(stack: Stack) -> None:
    # 200 tokens at 100 ms: 20 s of stream; the total deadline is 4 s. The client gets the
    # tokens sent so far, then an error event, then the end (not a stream cut without a word).
    started = time.monotonic()
    with httpx.stream(
        "POST",
        stack.gateway.url + "/v1/completions",
        json={"model": "slow", "prompt": "x", "max_tokens": 200, "stream": True},
        timeout=30,
    ) as response:
        events = [line for line in response.iter_lines() if line]
    took_s = time.monotonic() - started

    assert 3.5 < took_s < 6, took_s
    assert len(events) > 10
    error = json.loads(events[-1].removeprefix("data: "))["error"]
    assert error["code"] == "upstream_timeout"
    assert "in time" in error["message"]


def test_should_cancel_a_non_streamed_upstream_call_when_the_client_leaves(stack: Stack) -> None:
    # 200 tokens at 100 ms: 20 s of work; the client gives up after 1 s. The gateway must
    # hang up on the backend too (vLLM then aborts the request), not wait out the 20 s.
    before = stats(stack.slow)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            stack.gateway.url + "/v1/completions",
            json={"model": "slow", "prompt": "x", "max_tokens": 200},
            timeout=httpx.Timeout(30, read=1),
        )

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        now = stats(stack.slow)
        if now["answers_cancelled"] > before["answers_cancelled"]:
            break
        time.sleep(0.1)
    assert now["answers_cancelled"] == before["answers_cancelled"] + 1
    assert now["answers_completed"] == before["answers_completed"]
    metrics = httpx.get(stack.gateway.url + "/metrics").text
    assert (
        'llmops_gateway_errors_total{model="slow",revision="stable",route="completions",'
        'type="client_disconnected"} 1.0' in metrics
    )


def test_should_end_a_stream_with_an_error_event_when_the_backend_dies(stack: Stack) -> None:
    # The backend's process is killed after two tokens: the client gets an OpenAI-style
    # error event and the end of the stream at once, not a hang until some timeout.
    with httpx.stream(
        "POST",
        stack.gateway.url + "/v1/completions",
        json={"model": "doomed", "prompt": "x", "max_tokens": 100, "stream": True},
        timeout=30,
    ) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
        stack.doomed.process.kill()
        killed = time.monotonic()
        rest = [line for line in lines if line]
        ended_after_s = time.monotonic() - killed

    assert ended_after_s < 2, ended_after_s
    error = json.loads(rest[-1].removeprefix("data: "))["error"]
    assert error["code"] == "upstream_error"
    assert "doomed" in error["message"]
    assert error["type"] == "api_error"
    assert chat(stack, "fallback").status_code == 200  # the gateway serves on


def test_should_stay_ready_but_degraded_while_one_alias_has_no_backend_up(stack: Stack) -> None:
    # Not ready would take the pod out of the Service: every alias down for one model's outage.
    ready = httpx.get(stack.gateway.url + "/readyz", timeout=30)

    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "degraded"
    assert body["aliases"]["none"] is False and body["aliases"]["fallback"] is True
    assert chat(stack, "none").status_code == 503
    assert httpx.get(stack.gateway.url + "/healthz").status_code == 200


def test_should_not_be_ready_while_no_alias_can_be_served(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    table = write_table(tmp_path / "routing.json", {"chat": {"backends": [backend("d", dead)]}})
    with gateway(tmp_path, routing_table=table) as proc:
        ready = httpx.get(proc.url + "/readyz", timeout=30)

    assert ready.status_code == 503
    assert ready.json()["status"] == "not ready"


def test_should_start_and_serve_chat_while_milvus_does_not_answer(tmp_path: Path) -> None:
    # A Milvus pod starting beside the gateway's: the gateway used to exit at startup (its
    # pod crash-looped until Milvus answered); chat needs no Milvus, and RAG says what is wrong.
    milvus = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    rag_settings = {"collection": "docs", "top_k": 2, "template": "rag-v1", "embedder": "emb"}
    with upstream(tmp_path, "up") as up:
        table = write_table(
            tmp_path / "routing.json",
            {
                "chat": {"backends": [backend("up", up.url)]},
                "emb": {"kind": "embeddings", "backends": [backend("emb", up.url)]},
                "ask": {"backends": [backend("ask", up.url, rag=rag_settings)]},
            },
        )
        with gateway(tmp_path, routing_table=table, milvus_uri=milvus) as proc:
            question = {"model": "ask", "messages": [{"role": "user", "content": "Retention?"}]}
            rag_chat = httpx.post(proc.url + "/v1/chat/completions", json=question, timeout=60)
            rag_query = httpx.post(
                proc.url + "/v1/rag/query", json={"model": "ask", "query": "x"}, timeout=60
            )
            completion = httpx.post(
                proc.url + "/v1/completions",
                json={"model": "chat", "prompt": "x", "max_tokens": 2},
                timeout=30,
            )
            answered = httpx.post(
                proc.url + "/v1/chat/completions",
                json={"model": "chat", "messages": [{"role": "user", "content": "x"}]},
                timeout=30,
            )
            ingest = httpx.post(
                proc.url + "/v1/ingest",
                json={"collection": "docs", "embedder": "emb",
                      "documents": [{"name": "a.md", "text": "Logs are kept 30 days."}]},
                timeout=60,
            )  # fmt: skip
            ready = httpx.get(proc.url + "/readyz", timeout=30)

    assert answered.status_code == 200, answered.text
    assert completion.status_code == 200, completion.text
    # RAG answers (chat on a RAG alias, /v1/rag/query) and ingestion say what is wrong.
    for failed in (rag_chat, rag_query):
        assert failed.status_code == 503, failed.text
        assert failed.json()["error"]["code"] == "vector_store_unavailable"
        assert milvus in failed.json()["error"]["message"]
    assert ingest.status_code == 503, ingest.text
    error = ingest.json()["error"]
    assert error["code"] == "vector_store_unavailable"
    assert milvus in error["message"]
    assert ingest.headers["retry-after"] == "5"
    # Chat still serves: degraded, not out of the Service.
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["milvus"] != "ok"
