"""Limits and guardrails of every generating endpoint.

Input checks run once per request, before any backend is chosen: prompt characters and
requested output tokens against the gateway's limits, then prompt-injection and PII
guardrails on what the user wrote (system messages are the application's own and are not
screened). Output checks apply the PII policy to answers, streamed or not: a streamed
answer is redacted as it goes (`StreamRedactor` holds back the tail that a later token may
turn into a match); ``block`` on output acts as ``flag`` (the answer has been paid for).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmops_gateway.domain.errors import GuardrailBlockedError, InvalidRequestError
from llmops_gateway.domain.guardrails import Decision, Policy, screen_injection, screen_pii
from llmops_gateway.domain.prompts import message_text
from llmops_gateway.services.accounting import Accounting
from llmops_gateway.services.context import Call


@dataclass(frozen=True)
class GuardPolicies:
    """Policy per check (``off | flag | redact | block``) and the size limits. No defaults
    here: they are the settings' (``guard_*``, ``max_*``), passed by the app factory."""

    injection: Policy
    injection_retrieved: Policy
    pii_input: Policy
    pii_output: Policy
    max_prompt_chars: int
    max_output_tokens: int


class Guards:
    def __init__(self, policies: GuardPolicies, accounting: Accounting) -> None:
        self.policies = policies
        self._accounting = accounting

    def check_output_limit(self, body: dict[str, Any]) -> None:
        limit = self.policies.max_output_tokens
        for key in ("max_tokens", "max_completion_tokens"):
            value = body.get(key)
            if isinstance(value, int) and value > limit:
                raise InvalidRequestError(
                    f"{key} is {value}; this gateway allows at most {limit}.",
                    code="max_tokens_too_large",
                    param=key,
                )

    def check_prompt_size(self, chars: int, param: str) -> None:
        limit = self.policies.max_prompt_chars
        if chars > limit:
            raise InvalidRequestError(
                f"The prompt has {chars} characters; this gateway allows at most {limit}.",
                code="context_length_exceeded",
                param=param,
            )

    def _record(self, call: Call, decision: Decision) -> None:
        self._accounting.guardrail(call, decision)
        if decision.blocks:
            raise GuardrailBlockedError(
                f"The request was refused by the {decision.check} guardrail "
                f"({', '.join(decision.rules)}).",
            )

    def guard_text(self, call: Call, text: str) -> str:
        """Injection then PII checks on one piece of user text; the text to forward."""
        text, decision = screen_injection(text, self.policies.injection)
        self._record(call, decision)
        text, decision = screen_pii(text, self.policies.pii_input, "pii_input")
        self._record(call, decision)
        return text

    def guard_messages(self, call: Call, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.check_prompt_size(sum(len(message_text(m)) for m in messages), "messages")
        guarded = []
        for original in messages:
            message = original
            if message.get("role") in ("user", "tool"):
                content = message.get("content")
                if isinstance(content, str):
                    message = {**message, "content": self.guard_text(call, content)}
                elif isinstance(content, list):
                    parts = [
                        {**part, "text": self.guard_text(call, str(part.get("text", "")))}
                        if isinstance(part, dict) and part.get("type") == "text"
                        else part
                        for part in content
                    ]
                    message = {**message, "content": parts}
            guarded.append(message)
        return guarded

    def guard_passage(self, call: Call, text: str) -> tuple[str, Decision]:
        """The injection guardrail on a retrieved passage (the caller decides on a block)."""
        text, decision = screen_injection(
            text, self.policies.injection_retrieved, "injection_retrieved"
        )
        self._accounting.guardrail(call, decision)
        return text, decision

    def redact_output(self, call: Call, body: dict[str, Any]) -> None:
        """Apply the output PII policy to every choice's text (non-streamed responses)."""
        policy = self.policies.pii_output
        if policy == "off":
            return
        for choice in body.get("choices", []):
            holder, key = (
                (choice.get("message"), "content") if "message" in choice else (choice, "text")
            )
            if not isinstance(holder, dict) or not isinstance(holder.get(key), str):
                continue
            text, decision = screen_pii(
                holder[key], "flag" if policy == "block" else policy, "pii_output"
            )
            holder[key] = text
            self._accounting.guardrail(call, decision)

    def check_streamed_output(self, call: Call, text: str, redacted: set[str] | None) -> None:
        """Record the output PII decision of a finished stream. Under ``redact`` the relay
        redacted the stream as it went (``redacted``: the kinds it masked); under ``flag``
        or ``block`` the streamed text, which has left already, is flagged."""
        if self.policies.pii_output == "off":
            return
        if redacted is not None:
            rules = tuple(sorted(redacted))
            self._accounting.guardrail(
                call, Decision("pii_output", "redact" if rules else "allow", rules)
            )
            return
        _, decision = screen_pii(text, "flag", "pii_output")
        self._accounting.guardrail(call, decision)
