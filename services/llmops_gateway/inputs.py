"""Input checks shared by every generating endpoint: size limits and input guardrails.

They run once per request, before any backend is chosen: prompt characters and requested
output tokens against the gateway's limits, then prompt-injection and PII guardrails on
what the user wrote (system messages are the application's own and are not screened).
"""

from __future__ import annotations

from typing import Any

from llmops_gateway.calls import Call
from llmops_gateway.domain.errors import GuardrailBlockedError, InvalidRequestError
from llmops_gateway.domain.guardrails import Decision, screen_injection, screen_pii
from llmops_gateway.domain.prompts import message_text


def check_output_limit(call: Call, body: dict[str, Any]) -> None:
    limit = call.runtime.settings.max_output_tokens
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if isinstance(value, int) and value > limit:
            raise InvalidRequestError(
                f"{key} is {value}; this gateway allows at most {limit}.",
                code="max_tokens_too_large",
                param=key,
            )


def _record(call: Call, decision: Decision) -> None:
    call.runtime.record_decision(call.route, call.alias, decision)
    if decision.blocks:
        raise GuardrailBlockedError(
            f"The request was refused by the {decision.check} guardrail "
            f"({', '.join(decision.rules)}).",
        )


def guard_text(call: Call, text: str) -> str:
    """Injection then PII checks on one piece of user text; the text to forward."""
    settings = call.runtime.settings
    text, decision = screen_injection(text, settings.guard_injection)
    _record(call, decision)
    text, decision = screen_pii(text, settings.guard_pii_input, "pii_input")
    _record(call, decision)
    return text


def check_prompt_size(call: Call, chars: int, param: str) -> None:
    limit = call.runtime.settings.max_prompt_chars
    if chars > limit:
        raise InvalidRequestError(
            f"The prompt has {chars} characters; this gateway allows at most {limit}.",
            code="context_length_exceeded",
            param=param,
        )


def guard_messages(call: Call, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    check_prompt_size(call, sum(len(message_text(m)) for m in messages), "messages")
    guarded = []
    for original in messages:
        message = original
        if message.get("role") in ("user", "tool"):
            content = message.get("content")
            if isinstance(content, str):
                message = {**message, "content": guard_text(call, content)}
            elif isinstance(content, list):
                parts = [
                    {**part, "text": guard_text(call, str(part.get("text", "")))}
                    if isinstance(part, dict) and part.get("type") == "text"
                    else part
                    for part in content
                ]
                message = {**message, "content": parts}
        guarded.append(message)
    return guarded
