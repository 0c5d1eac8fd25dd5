"""The gateway as a drop-in OpenAI endpoint: the official `openai` client, streaming,
usage, revision pins, trace propagation, metrics and feedback. Upstreams here are the fast
OpenAI-compatible *test* upstreams (not vLLM); tests against vLLM are in test_engine.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import openai
import pytest

from tests.integration.gateway.procs import Proc, backend, gateway, stats, upstream, write_table


@dataclass
class Stack:
    gateway: Proc
    stable: Proc
    canary: Proc

    @property
    def base_url(self) -> str:
        return self.gateway.url + "/v1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("proxy")
    with upstream(tmp, "stable") as stable, upstream(tmp, "canary") as canary:
        table = write_table(
            tmp / "routing.json",
            {
                "chat": {
                    "backends": [
                        backend("stable", stable.url, weight=100),
                        backend("canary", canary.url, weight=0, revision="canary"),
                    ]
                },
                "base": {"backends": [backend("base", stable.url, chat="completion")]},
                "emb": {"kind": "embeddings", "backends": [backend("emb", stable.url)]},
            },
        )
        with gateway(tmp, routing_table=table) as proc:
            yield Stack(proc, stable, canary)


@pytest.fixture
def client(stack: Stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.base_url, api_key="unused", max_retries=0)


def test_should_answer_the_openai_client_non_streaming_with_usage(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "say four words"}], max_tokens=4
    )

    assert answer.choices[0].message.content == "tok0 tok1 tok2 tok3"
    assert answer.usage is not None and answer.usage.completion_tokens == 4
    assert answer.model == "model-stable@stable"


def test_should_stream_to_the_openai_client(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=5,
        stream=True,
        stream_options={"include_usage": True},
    )

    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "tok0 tok1 tok2 tok3 tok4"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 6


def test_should_not_send_usage_chunks_the_client_did_not_ask_for(stack: Stack) -> None:
    with httpx.stream(
        "POST",
        stack.base_url + "/completions",
        json={
            "model": "chat",
            "prompt": "hi",
            "max_tokens": 3,
            "stream": True,
        },
    ) as response:
        body = response.read().decode()

    assert response.status_code == 200
    assert '"usage"' not in body
    assert body.rstrip().endswith("data: [DONE]")
    # ... while the gateway asked the upstream for it, to count tokens.
    assert stats(stack.stable)["last_body"]["stream_options"] == {"include_usage": True}


def test_should_answer_chat_on_a_base_model_through_a_completion_prompt(
    client: openai.OpenAI, stack: Stack
) -> None:
    answer = client.chat.completions.create(
        model="base",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}],
        max_tokens=2,
    )
    streamed = client.chat.completions.create(
        model="base",
        messages=[{"role": "user", "content": "hello"}],
        max_tokens=2,
        stream=True,
    )

    assert answer.object == "chat.completion"
    assert answer.choices[0].message.content == "tok0 tok1"
    sent = stats(stack.stable)["last_body"]
    assert sent["prompt"] == "User: hello\nAssistant:"
    assert "\nUser:" in sent["stop"]
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == "tok0 tok1"


def test_should_serve_completions_embeddings_and_models(client: openai.OpenAI) -> None:
    completion = client.completions.create(model="chat", prompt="one two", max_tokens=2)
    vectors = client.embeddings.create(model="emb", input=["a b", "c"])
    models = {model.id for model in client.models.list()}

    assert completion.choices[0].text == "tok0 tok1"
    assert [len(item.embedding) for item in vectors.data] == [384, 384]
    assert models == {"chat", "base", "emb"}


def test_should_pin_a_revision_by_header(stack: Stack) -> None:
    response = httpx.post(
        stack.base_url + "/chat/completions",
        json={"model": "chat", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1},
        headers={"x-llmops-revision": "canary"},
    )

    assert response.status_code == 200
    assert response.headers["x-llmops-revision"] == "canary"
    assert response.json()["model"] == "model-canary@canary"


def test_should_propagate_the_trace_context_upstream(stack: Stack) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    httpx.post(
        stack.base_url + "/completions",
        json={"model": "chat", "prompt": "x", "max_tokens": 1},
        headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
    ).raise_for_status()

    sent = stats(stack.stable)["last_headers"]["traceparent"]
    assert sent.split("-")[1] == trace_id  # same trace, the gateway's span as parent
    assert sent.split("-")[2] != "00f067aa0ba902b7"


def test_should_export_metrics_with_units_and_labels(stack: Stack, client: openai.OpenAI) -> None:
    client.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "m"}], max_tokens=2, stream=True
    ).close()
    client.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "m"}], max_tokens=2
    )

    text = httpx.get(stack.gateway.url + "/metrics").text

    assert (
        'llmops_gateway_requests_total{code="200",model="chat",revision="stable",route="chat"}'
        in text
    )
    assert "llmops_gateway_time_to_first_token_seconds_bucket" in text
    assert (
        'llmops_gateway_completion_tokens_total{model="chat",revision="stable",route="chat"}'
        in text
    )
    assert 'llmops_gateway_team_tokens_total{direction="out",team="anonymous"}' in text
    # Both answers had text: answered (not empty, not a refusal), and their prompts measured.
    labels = 'model="chat",outcome="answered",revision="stable",route="chat"'
    answered = re.search(rf"llmops_gateway_answers_total\{{{labels}\}} ([0-9.]+)", text)
    assert answered and float(answered.group(1)) >= 2, text  # streamed and not, at least
    assert not re.search(r'llmops_gateway_answers_total\{[^}]*outcome="(empty|refusal)"', text)
    assert 'llmops_gateway_prompt_length_tokens_count{model="chat",revision="stable"' in text


def test_should_record_feedback_against_the_revision_that_answered(
    stack: Stack, client: openai.OpenAI
) -> None:
    answer = client.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "x"}], max_tokens=1
    )

    ok = httpx.post(
        stack.base_url + "/feedback",
        json={"response_id": answer.id, "rating": "up", "comment": "good"},
    )
    unknown = httpx.post(
        stack.base_url + "/feedback", json={"response_id": "nope", "rating": "down"}
    )

    assert ok.status_code == 200 and ok.json()["revision"] == "stable"
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "response_not_found"
    metrics = httpx.get(stack.gateway.url + "/metrics").text
    assert (
        'llmops_gateway_feedback_total{model="chat",rating="up",revision="stable"} 1.0' in metrics
    )


def test_should_report_ready_with_what_it_checked(stack: Stack) -> None:
    ready = httpx.get(stack.gateway.url + "/readyz")

    assert ready.status_code == 200
    assert ready.json()["aliases"] == {"chat": True, "base": True, "emb": True}
