"""Prompt assembly: chat rendered for base models, versioned RAG templates, shapes."""

from __future__ import annotations

import pytest

from llmops_gateway.domain.compat import (
    chat_to_completion_request,
    completion_chunk_to_chat_chunk,
    completion_to_chat,
)
from llmops_gateway.domain.prompts import (
    CHAT_STOP,
    TEMPLATES,
    Passage,
    UnknownTemplateError,
    build_rag_messages,
    get_template,
    last_user_text,
    merge_stop,
    render_chat_prompt,
)


def test_should_render_chat_as_a_completion_prompt_ending_with_the_assistant_turn() -> None:
    prompt = render_chat_prompt(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is "},
                    {"type": "text", "text": "Kubernetes?"},
                ],
            },
        ]
    )

    assert (
        prompt == "Be brief.\n\nUser: Hi\nAssistant: Hello.\nUser: What is Kubernetes?\nAssistant:"
    )


def test_should_render_without_a_system_part_when_there_is_none() -> None:
    assert render_chat_prompt([{"role": "user", "content": "Hi"}]) == "User: Hi\nAssistant:"


def test_should_find_the_last_user_message() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ]

    assert last_user_text(messages) == "c"
    assert last_user_text([{"role": "system", "content": "x"}]) == ""


PASSAGES = [
    Passage(document="ops.md", chunk=0, text="Logs are kept for 30 days.", score=0.9),
    Passage(document="ops.md", chunk=3, text="Metrics are kept for 1 year.", score=0.7),
]


def test_should_number_passages_in_the_order_of_the_citations() -> None:
    messages = build_rag_messages(
        get_template("rag-v2"), "How long are logs kept?", PASSAGES, max_context_chars=10_000
    )

    system = messages[0]["content"]
    assert messages[-1] == {"role": "user", "content": "How long are logs kept?"}
    assert "[1] (ops.md, part 0) Logs are kept for 30 days." in system
    assert "[2] (ops.md, part 3) Metrics" in system


def test_should_stop_adding_passages_at_the_context_budget_but_keep_the_best() -> None:
    messages = build_rag_messages(get_template("rag-v1"), "q", PASSAGES, max_context_chars=10)

    assert "[1] Logs" in messages[0]["content"]
    assert "Metrics" not in messages[0]["content"]


def test_should_say_so_when_nothing_was_retrieved() -> None:
    messages = build_rag_messages(get_template("rag-v1"), "q", [], max_context_chars=100)

    assert "(no relevant context was found)" in messages[0]["content"]


def test_should_keep_earlier_turns_but_not_system_messages_of_the_client() -> None:
    history = [
        {"role": "system", "content": "x"},
        {"role": "user", "content": "earlier"},
        {"role": "assistant", "content": "answer"},
    ]

    messages = build_rag_messages(
        get_template("rag-v1"), "q", PASSAGES, max_context_chars=1000, history=history
    )

    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]


def test_should_carry_each_template_under_its_own_version() -> None:
    assert all(version == template.version for version, template in TEMPLATES.items())
    with pytest.raises(UnknownTemplateError):
        get_template("rag-v999")


def test_should_turn_a_chat_request_into_a_completion_request_with_stops() -> None:
    body = {
        "model": "alias",
        "messages": [],
        "max_completion_tokens": 8,
        "temperature": 0,
        "stream": True,
        "stop": "END",
        "logprobs": True,
    }

    request = chat_to_completion_request(body, "User: hi\nAssistant:", "gemma", CHAT_STOP)

    assert request == {
        "model": "gemma",
        "prompt": "User: hi\nAssistant:",
        "max_tokens": 8,
        "temperature": 0,
        "stream": True,
        "stop": ["END", *CHAT_STOP],
    }


def test_should_reshape_a_completion_as_a_chat_completion() -> None:
    chat = completion_to_chat(
        {
            "id": "cmpl-1",
            "created": 5,
            "model": "g",
            "choices": [{"index": 0, "text": "Hi.", "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
    )

    assert chat["object"] == "chat.completion"
    assert chat["id"] == "chatcmpl-1"
    assert chat["choices"][0]["message"] == {"role": "assistant", "content": "Hi."}
    assert chat["usage"]["total_tokens"] == 5


def test_should_reshape_stream_chunks_with_the_role_on_the_first_only() -> None:
    chunk = {
        "id": "cmpl-1",
        "created": 5,
        "model": "g",
        "choices": [{"index": 0, "text": "Hi", "finish_reason": None}],
    }

    first = completion_chunk_to_chat_chunk(chunk, first=True)
    later = completion_chunk_to_chat_chunk(chunk, first=False)

    assert first["choices"][0]["delta"] == {"content": "Hi", "role": "assistant"}
    assert later["choices"][0]["delta"] == {"content": "Hi"}
    assert later["object"] == "chat.completion.chunk"
    assert "usage" not in later


@pytest.mark.parametrize("version", sorted(TEMPLATES))
def test_should_stop_a_rag_answer_where_the_next_passage_would_begin(version: str) -> None:
    template = TEMPLATES[version]
    prompt = build_rag_messages(
        template,
        "q",
        [Passage("a.md", 0, "Alpha.", 0.9), Passage("b.md", 0, "Beta.", 0.8)],
        max_context_chars=1000,
    )[0]["content"]

    assert template.stop == ("\n[",)
    # Every passage line of the prompt opens with the stop: a model writing a fourth one
    # ("\n[4] ...") is cut before it.
    assert prompt.count("\n[") == 2


@pytest.mark.parametrize(
    ("client", "merged"),
    [
        (None, ["\n["]),
        ("END", ["END", "\n["]),
        (["END", "\n["], ["END", "\n["]),
        ([], ["\n["]),
    ],
)
def test_should_merge_the_clients_stop_sequences_first_and_each_once(
    client: str | list[str] | None, merged: list[str]
) -> None:
    assert merge_stop(client, ("\n[",)) == merged
