"""Guardrail rules (pure): prompt-injection heuristics, PII detection and redaction, and the
policy that turns findings into a decision.

Policies per check: ``off`` (not evaluated), ``flag`` (allowed, but logged and counted),
``redact`` (offending text replaced, then allowed), ``block`` (refused with 400
``content_policy_violation``). The same injection rules screen retrieved passages, where an
instruction hidden in a document is as dangerous as one typed by the user.
These are heuristics: they catch the common phrasings, not a determined adversary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Action = Literal["allow", "flag", "redact", "block"]
Policy = Literal["off", "flag", "redact", "block"]

_INJECTION_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "ignore_instructions",
        r"\b(ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}?\b(previous|prior|above|"
        r"earlier|all|any|the|your|system)\b[^.\n]{0,30}?\b(instructions?|prompts?|rules?|"
        r"directions?|guidelines?|context)\b",
    ),
    (
        "reveal_prompt",
        r"\b(reveal|show|print|repeat|output|leak|tell me)\b[^.\n]{0,30}?\b(system|hidden|"
        r"initial|secret)\s+(prompt|instructions?|message)\b",
    ),
    (
        "role_override",
        r"\byou are now\b|\bfrom now on,? you\b|\bact as (an? )?(unrestricted|dan)\b",
    ),
    ("fake_system_turn", r"(^|\n)\s*(###\s*)?(system|assistant)\s*:|<\|?(system|im_start)\|?>"),
    ("jailbreak", r"\b(jailbreak|developer mode|do anything now|no restrictions)\b"),
)
_INJECTION = [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in _INJECTION_PATTERNS]

_PII_PATTERNS: tuple[tuple[str, str], ...] = (
    ("email", r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
    ("credit_card", r"\b\d(?:[ -]?\d){12,18}\b"),
    ("iban", r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){3,7}(?:[ ]?[A-Z0-9]{1,3})?\b"),
    ("us_ssn", r"\b\d{3}-\d{2}-\d{4}\b"),
    ("phone", r"(?<![\w+])\+?\d{1,3}?[ .-]?\(?\d{2,4}\)?[ .-]\d{3,4}[ .-]\d{3,4}\b"),
    ("ipv4", r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"),
)
_PII = [(name, re.compile(pattern)) for name, pattern in _PII_PATTERNS]


@dataclass(frozen=True)
class Finding:
    """What matched, where."""

    rule: str
    start: int
    end: int


@dataclass(frozen=True)
class Decision:
    """The outcome of one check on one text; logged and counted by the gateway."""

    check: str  # injection | injection_retrieved | pii_input | pii_output | size
    action: Action
    rules: tuple[str, ...]

    @property
    def blocks(self) -> bool:
        return self.action == "block"

    @property
    def summary(self) -> str:
        """``check=action(rule,...)``, as the ``x-llmops-guardrail`` header lists it."""
        return f"{self.check}={self.action}({','.join(self.rules)})"


def find_injection(text: str) -> list[Finding]:
    return [
        Finding(name, match.start(), match.end())
        for name, pattern in _INJECTION
        for match in pattern.finditer(text)
    ]


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def find_pii(text: str) -> list[Finding]:
    """PII spans, longest first where they overlap (a card number is not also a phone)."""
    found: list[Finding] = []
    for name, pattern in _PII:
        for match in pattern.finditer(text):
            if name == "credit_card":
                digits = re.sub(r"\D", "", match.group())
                if not 13 <= len(digits) <= 19 or not _luhn_ok(digits):
                    continue
            found.append(Finding(name, match.start(), match.end()))
    return _without_overlaps(found)


def _without_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    kept: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (-(f.end - f.start), f.start)):
        if all(finding.end <= other.start or finding.start >= other.end for other in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: f.start)


def redact(text: str, findings: Iterable[Finding], label: str = "") -> str:
    """Replace each finding with ``[REDACTED_<RULE>]`` (or ``[<label>]``)."""
    out: list[str] = []
    cursor = 0
    for finding in _without_overlaps(findings):
        out.append(text[cursor : finding.start])
        out.append(f"[{label}]" if label else f"[REDACTED_{finding.rule.upper()}]")
        cursor = finding.end
    out.append(text[cursor:])
    return "".join(out)


def _sentence_spans(text: str, findings: Iterable[Finding]) -> list[Finding]:
    """Widen injection findings to their whole sentence, so no half-instruction remains."""
    spans = []
    for finding in findings:
        start = max(text.rfind(stop, 0, finding.start) for stop in (". ", "\n", "! ", "? "))
        start = 0 if start < 0 else start + 1
        ends = [at for stop in (".", "\n", "!", "?") if (at := text.find(stop, finding.end)) != -1]
        end = min(ends) + 1 if ends else len(text)
        spans.append(Finding(finding.rule, start, end))
    return spans


def decide(check: str, policy: Policy, findings: list[Finding]) -> Decision:
    """The policy applied to the findings of one check."""
    rules = tuple(sorted({finding.rule for finding in findings}))
    if policy == "off" or not findings:
        return Decision(check, "allow", rules)
    return Decision(check, policy, rules)


def screen_injection(text: str, policy: Policy, check: str = "injection") -> tuple[str, Decision]:
    """(text to use, decision) for the injection check; redaction removes the sentences."""
    if policy == "off":
        return text, Decision(check, "allow", ())
    findings = find_injection(text)
    decision = decide(check, policy, findings)
    if decision.action == "redact":
        text = redact(text, _sentence_spans(text, findings), label="instruction removed")
    return text, decision


def screen_pii(text: str, policy: Policy, check: str) -> tuple[str, Decision]:
    """(text to use, decision) for a PII check; redaction masks each match by kind."""
    if policy == "off":
        return text, Decision(check, "allow", ())
    findings = find_pii(text)
    decision = decide(check, policy, findings)
    if decision.action == "redact":
        text = redact(text, findings)
    return text, decision


# The longest PII match the rules can make (an IBAN with spaces, 34 characters plus
# separators) is well under this: text this far from the end of what has arrived is final.
STREAM_HOLDBACK_CHARS = 64


class StreamRedactor:
    """PII redaction for text that arrives in pieces (a streamed answer).

    `feed` returns the part of the text that is safe to send now, redacted; the last
    `STREAM_HOLDBACK_CHARS` characters (back to a word boundary, and any match reaching into
    them) are held back,
    because the next piece may complete a match (``alice@exa`` + ``mple.com``). `flush`
    returns the rest at the end of the stream. The concatenation of everything returned is
    ``redact(text, find_pii(text))`` of the whole text. ``rules`` collects the kinds found.
    """

    def __init__(self, holdback: int = STREAM_HOLDBACK_CHARS) -> None:
        self._pending = ""
        self._holdback = holdback
        self.rules: set[str] = set()

    def feed(self, piece: str) -> str:
        self._pending += piece
        findings = find_pii(self._pending)
        cut = max(0, len(self._pending) - self._holdback)
        # Never cut inside a word: an e-mail's local part is a match only once its domain
        # arrives, however long it is.
        cut = max(self._pending.rfind(space, 0, cut + 1) for space in (" ", "\n", "\t"))
        cut = max(cut, 0)
        for finding in findings:
            if finding.start < cut <= finding.end:  # may still grow: hold it back whole
                cut = finding.start
        return self._emit(cut, findings)

    def flush(self) -> str:
        return self._emit(len(self._pending), find_pii(self._pending))

    def _emit(self, cut: int, findings: list[Finding]) -> str:
        final = [finding for finding in findings if finding.end <= cut]
        self.rules.update(finding.rule for finding in final)
        out = redact(self._pending[:cut], final)
        self._pending = self._pending[cut:]
        return out
