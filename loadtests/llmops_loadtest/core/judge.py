"""LLM-as-judge for RAG answers (pure: the prompt and the reading of its verdict).

A judge model reads the question, the reference answer, the passages the gateway retrieved
and the answer, and gives two scores on a 1-5 scale:

- faithfulness: the answer says only what the passages support (no invention);
- correctness: the answer agrees with the reference answer.

Scores are reported on 0-1 (``(score - 1) / 4``). The prompt is versioned: a report names the
prompt's version and the SHA-256 of its text (`prompt_identity`), so two runs say whether they
were judged alike. A reply without both scores is "not judged" with the reply quoted, never a
guess. Judges differ and small ones are noisy: the lexical token F1 stays the gate that needs
no model; a judge's scores are evidence a person reads, and a bound on them is opt-in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

PROMPT_VERSION = "rag-judge-v1"
PROMPT = """You grade an answer given by a retrieval-augmented assistant.

Question: {question}

Reference answer: {reference}

Passages the assistant was given:
{passages}

Assistant's answer: {answer}

Give two scores from 1 (worst) to 5 (best):
- faithfulness: does the answer say only what the passages support?
- correctness: does the answer agree with the reference answer?
Reply with exactly two lines and nothing else:
faithfulness: <1-5>
correctness: <1-5>
"""
PLACEHOLDERS = ("{question}", "{reference}", "{passages}", "{answer}")
_SCORE = re.compile(r"\b(faithfulness|correctness)\b[^\w\n]{0,6}([1-5])\b", re.IGNORECASE)


@dataclass(frozen=True)
class Judgement:
    faithfulness: float
    correctness: float


def prompt_identity(template: str, version: str) -> tuple[str, str]:
    """``(version, sha256 of the text)``; a template missing a placeholder is refused."""
    missing = [p for p in PLACEHOLDERS if p not in template]
    if missing:
        raise ValueError(f"judge prompt {version!r} lacks {', '.join(missing)}")
    return version, hashlib.sha256(template.encode()).hexdigest()


def render_prompt(
    template: str, *, question: str, reference: str, passages: Sequence[str], answer: str
) -> str:
    numbered = "\n".join(f"[{i}] {text.strip()}" for i, text in enumerate(passages, 1))
    return (
        template.replace("{question}", question)
        .replace("{reference}", reference)
        .replace("{passages}", numbered or "(none)")
        .replace("{answer}", answer or "(empty)")
    )


def parse_judgement(reply: str) -> Judgement | None:
    """Both scores, each on 0-1, from the first of each the reply names; None if one lacks."""
    found: dict[str, int] = {}
    for name, score in _SCORE.findall(reply):
        found.setdefault(name.lower(), int(score))
    if set(found) != {"faithfulness", "correctness"}:
        return None
    return Judgement((found["faithfulness"] - 1) / 4, (found["correctness"] - 1) / 4)
