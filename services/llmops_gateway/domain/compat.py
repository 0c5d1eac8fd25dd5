"""Completion responses reshaped as chat responses, for backends served with ``chat:
completion`` (see `domain.prompts`). Pure dict-to-dict functions over OpenAI shapes."""

from __future__ import annotations

from typing import Any


def _chat_choice(choice: dict[str, Any]) -> dict[str, Any]:
    return {
        "index": choice.get("index", 0),
        "message": {"role": "assistant", "content": choice.get("text", "")},
        "logprobs": None,
        "finish_reason": choice.get("finish_reason"),
    }


def completion_to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A ``text_completion`` object as a ``chat.completion`` object (usage kept)."""
    return {
        "id": _chat_id(body.get("id", "")),
        "object": "chat.completion",
        "created": body.get("created", 0),
        "model": body.get("model", ""),
        "choices": [_chat_choice(choice) for choice in body.get("choices", [])],
        "usage": body.get("usage"),
    }


def completion_chunk_to_chat_chunk(chunk: dict[str, Any], *, first: bool) -> dict[str, Any]:
    """One streamed completion chunk as a ``chat.completion.chunk``.

    The first chunk of a stream also carries ``role: assistant``, as OpenAI's does.
    """
    choices = []
    for choice in chunk.get("choices", []):
        delta: dict[str, Any] = {"content": choice.get("text", "")}
        if first:
            delta["role"] = "assistant"
        choices.append(
            {
                "index": choice.get("index", 0),
                "delta": delta,
                "logprobs": None,
                "finish_reason": choice.get("finish_reason"),
            }
        )
    out: dict[str, Any] = {
        "id": _chat_id(chunk.get("id", "")),
        "object": "chat.completion.chunk",
        "created": chunk.get("created", 0),
        "model": chunk.get("model", ""),
        "choices": choices,
    }
    if chunk.get("usage") is not None:
        out["usage"] = chunk["usage"]
    return out


def _chat_id(completion_id: str) -> str:
    return "chatcmpl-" + completion_id.removeprefix("cmpl-")


def chat_to_completion_request(
    body: dict[str, Any], prompt: str, model: str, stop: tuple[str, ...]
) -> dict[str, Any]:
    """A chat request body turned into a completion request for the same sampling."""
    kept: dict[str, Any] = {
        key: body[key]
        for key in (
            "max_tokens",
            "temperature",
            "top_p",
            "n",
            "stream",
            "stream_options",
            "seed",
            "presence_penalty",
            "frequency_penalty",
            "user",
            "logit_bias",
        )
        if key in body
    }
    if "max_completion_tokens" in body and "max_tokens" not in kept:
        kept["max_tokens"] = body["max_completion_tokens"]
    user_stop = body.get("stop")
    stops = [user_stop] if isinstance(user_stop, str) else list(user_stop or [])
    return {**kept, "model": model, "prompt": prompt, "stop": [*stops, *stop]}
