"""Prompt assembly: chat messages for base models, and versioned RAG templates (pure).

Base models (e.g. Gemma 3 270M as packaged here) ship no chat template, and vLLM answers
``/v1/chat/completions`` for them with 400 ("default chat template is no longer allowed").
A backend marked ``chat: completion`` in the routing table therefore gets chat requests as a
completion-style prompt rendered by `render_chat_prompt`, with stop sequences so the model
does not write the user's next turn. The format is the gateway's, versioned with the RAG
templates, and independent of engine flags; a revision that serves an instruction-tuned
model with a template simply uses ``chat: native``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

CHAT_STOP = ("\nUser:", "\nSystem:")
_ROLE_LABEL = {"user": "User", "assistant": "Assistant", "tool": "Tool"}


def message_text(message: dict[str, Any]) -> str:
    """The text of a chat message; content parts of type "text" are joined."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def render_chat_prompt(messages: Sequence[dict[str, Any]]) -> str:
    """Chat messages as one completion prompt ending with ``Assistant:``.

    System (and developer) messages come first as plain instructions; the conversation
    follows as ``User:`` / ``Assistant:`` lines, the form base models continue best.
    """
    system = [
        message_text(message)
        for message in messages
        if message.get("role") in ("system", "developer")
    ]
    turns = [
        f"{_ROLE_LABEL.get(str(message.get('role')), 'User')}: {message_text(message)}"
        for message in messages
        if message.get("role") not in ("system", "developer")
    ]
    head = "\n\n".join(part for part in system if part)
    body = "\n".join([*turns, "Assistant:"])
    return f"{head}\n\n{body}" if head else body


def merge_stop(client: str | Sequence[str] | None, extra: Sequence[str]) -> list[str]:
    """The client's stop sequences (a string, a list or none), then ``extra``; each once."""
    given = [client] if isinstance(client, str) else list(client or [])
    return list(dict.fromkeys([*given, *extra]))


def last_user_text(messages: Sequence[dict[str, Any]]) -> str:
    """The last user message: the question of a RAG chat request."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return ""


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk as the prompt sees it."""

    document: str
    chunk: int
    text: str
    score: float


@dataclass(frozen=True)
class PromptTemplate:
    """A versioned RAG prompt. Changing wording means a new version, never an edit."""

    version: str
    instructions: str
    passage: str  # format with {n}, {document}, {chunk}, {text}
    empty_context: str

    @property
    def stop(self) -> tuple[str, ...]:
        """Where an answer must end: a new line opening the next passage (``\n[``).

        A base model given numbered passages tends to continue with an invented one
        ("[4] ..."); stopping at the passage prefix ends the answer there instead. Derived
        from `passage`, so a template's wording and its stop cannot disagree.
        """
        prefix = self.passage.split("{n}", 1)[0]
        return (f"\n{prefix}",) if prefix else ()


TEMPLATES: dict[str, PromptTemplate] = {
    "rag-v1": PromptTemplate(
        version="rag-v1",
        instructions=(
            "Answer the question using only the context below. If the context does not "
            "contain the answer, say that you do not know."
        ),
        passage="[{n}] {text}",
        empty_context="(no relevant context was found)",
    ),
    "rag-v2": PromptTemplate(
        version="rag-v2",
        instructions=(
            "You answer questions about the documents below. Use only these documents, "
            "cite them as [n], and say so when they do not contain the answer."
        ),
        passage="[{n}] ({document}, part {chunk}) {text}",
        empty_context="(no relevant documents were found)",
    ),
}


class UnknownTemplateError(KeyError):
    """The routing table names a template version this gateway does not carry."""


def get_template(version: str) -> PromptTemplate:
    try:
        return TEMPLATES[version]
    except KeyError:
        raise UnknownTemplateError(version) from None


def build_rag_messages(
    template: PromptTemplate,
    question: str,
    passages: Sequence[Passage],
    *,
    max_context_chars: int,
    history: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """System message (instructions + numbered context), earlier turns, then the question.

    Passages are added best first until ``max_context_chars`` would be exceeded, so the
    prompt stays within the model's context; the numbering matches the citations.
    """
    lines: list[str] = []
    used = 0
    for n, passage in enumerate(passages, start=1):
        line = template.passage.format(
            n=n, document=passage.document, chunk=passage.chunk, text=passage.text.strip()
        )
        if used + len(line) > max_context_chars and lines:
            break
        lines.append(line)
        used += len(line)
    context = "\n".join(lines) if lines else template.empty_context
    system = f"{template.instructions}\n\nContext:\n{context}"
    earlier = [m for m in history if m.get("role") in ("user", "assistant")]
    return [{"role": "system", "content": system}, *earlier, {"role": "user", "content": question}]
