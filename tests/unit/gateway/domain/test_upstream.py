"""The request sent to one backend: native chat, chat rendered for a base model, stops."""

from __future__ import annotations

from llmops_contracts.routing import Backend
from llmops_gateway.domain.prompts import CHAT_STOP
from llmops_gateway.domain.upstream import build_chat_call, build_completion_call

NATIVE = Backend(name="n", url="http://n/v1", model="m")
BASE = Backend(name="b", url="http://b/v1", model="m", chat="completion")
MESSAGES = [{"role": "user", "content": "hi"}]


def test_should_send_the_clients_stop_unchanged_when_the_gateway_adds_none() -> None:
    prepared = build_chat_call(NATIVE, {"model": "alias", "stop": "END"}, MESSAGES)

    assert prepared.path == "/chat/completions"
    assert prepared.body["stop"] == "END"
    assert prepared.body["model"] == "m"


def test_should_add_the_rag_stop_after_the_clients_on_a_native_chat_backend() -> None:
    prepared = build_chat_call(NATIVE, {"model": "alias", "stop": "END"}, MESSAGES, stop=("\n[",))

    assert prepared.body["stop"] == ["END", "\n["]


def test_should_add_the_rag_stop_and_the_turn_stops_on_a_base_model() -> None:
    prepared = build_chat_call(BASE, {"model": "alias", "stop": ["END"]}, MESSAGES, stop=("\n[",))

    assert prepared.path == "/completions" and prepared.convert_chat
    assert prepared.body["stop"] == ["END", "\n[", *CHAT_STOP]
    assert prepared.body["prompt"].endswith("Assistant:")


def test_should_ask_for_stream_usage_and_strip_it_when_the_client_did_not() -> None:
    asked = build_completion_call(
        NATIVE, {"prompt": "p", "stream": True, "stream_options": {"include_usage": True}}
    )
    not_asked = build_completion_call(NATIVE, {"prompt": "p", "stream": True})

    assert not asked.strip_usage
    assert not_asked.strip_usage
    assert not_asked.body["stream_options"] == {"include_usage": True}
