"""What kind of answer a model gave (pure): answered, empty, or a refusal.

Counted per served answer (`llmops_gateway_answers_total{outcome}`) so a revision that starts
declining, or answering nothing, shows as a shift of its unanswered share (a drift signal).

- ``empty``: no text at all (whitespace only), and no refusal from the backend;
- ``refusal``: the backend said so (OpenAI's ``message.refusal``, ``finish_reason:
  content_filter``), or the text opens with one of a bounded set of refusal phrases in English
  ("I'm sorry, but I can't ...", "I cannot help ...", "I don't know", "The context does not
  contain ..." - the last two are what the RAG templates ask for when the passages lack the
  answer). Only the opening is read: an answer that later says "I can't be sure" is answered.
- ``answered``: anything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

Outcome = Literal["answered", "empty", "refusal"]
OUTCOMES: tuple[Outcome, ...] = ("answered", "empty", "refusal")

_OPENING_CHARS = 200
_CANNOT = r"(?:can ?not|can't|won't|am (?:not able|unable)|'m (?:not able|unable))"
_REFUSAL = re.compile(
    r"^(?:"
    rf"(?:i'm |i am )?sorry[,.!]?\s+(?:but\s+)?i\s*{_CANNOT}"
    rf"|i\s*{_CANNOT}\s+(?:to\s+)?(?:help|assist|answer|provide|comply|do that|fulfil)"
    r"|i (?:don't|do not) know"
    r"|(?:the|this|these) (?:provided )?(?:context|passages?|documents?) "
    r"(?:does not|do not|doesn't|don't) "
    r"(?:contain|include|mention|say)"
    rf"|as an ai\b[^.]*\b{_CANNOT}"
    r")"
)


def classify_answer(text: str, *, refused: bool = False) -> Outcome:
    """The outcome of one answer's text; ``refused`` when the backend flagged a refusal."""
    if refused:
        return "refusal"
    opening = text.strip()[:_OPENING_CHARS].lower().replace("\u2019", "'")
    if not opening:
        return "empty"
    return "refusal" if _REFUSAL.match(opening) else "answered"


def answer_of(body: Mapping[str, Any]) -> tuple[str, bool]:
    """A non-streamed chat or completion body's text (every choice) and whether the backend
    flagged a refusal."""
    texts: list[str] = []
    refused = False
    for choice in body.get("choices") or []:
        if not isinstance(choice, Mapping):
            continue
        message = choice.get("message")
        if isinstance(message, Mapping):
            texts.append(str(message.get("content") or ""))
            refused = refused or bool(message.get("refusal"))
        else:
            texts.append(str(choice.get("text") or ""))
        refused = refused or choice.get("finish_reason") == "content_filter"
    return "".join(texts), refused
