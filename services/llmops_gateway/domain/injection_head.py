"""The learned half of the prompt-injection guardrail (pure): a logistic-regression head over
sentence embeddings from the embedder the stack already serves (all-MiniLM-L6-v2 on vLLM's
pooling runner), its training, and the evaluation of rules + head on a probe set.

A text is split into sentences and each sentence is scored: an instruction hidden in a long
retrieved passage is one sentence among many, and averaging it away is what an attacker wants.
The text's score is its highest sentence score; the head flags it at ``threshold``.

The head file (``data/injection_head.json``) is written by ``llmops guardrails train`` from
``data/injection_train.jsonl`` only; ``data/injection_heldout.jsonl`` is read by
``llmops guardrails eval`` and by nothing that fits or tunes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

HEAD_VERSION = 1
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+|(?=<!--)|(?=\[system\])|(?=###)", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    """The sentences of a text (a comment or a fake turn marker starts a new one)."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


@dataclass(frozen=True)
class LinearHead:
    """``sigmoid(weights . embedding + bias) >= threshold`` flags a sentence."""

    embed_model: str
    weights: tuple[float, ...]
    bias: float
    threshold: float

    def probability(self, vector: Sequence[float]) -> float:
        if len(vector) != len(self.weights):
            raise ValueError(
                f"the head expects {len(self.weights)}-dimensional embeddings, got {len(vector)}"
            )
        z = self.bias + sum(w * x for w, x in zip(self.weights, vector, strict=True))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": HEAD_VERSION,
            "embed_model": self.embed_model,
            "threshold": self.threshold,
            "bias": self.bias,
            "weights": list(self.weights),
        }


def parse_head(data: Any) -> LinearHead:
    if not isinstance(data, dict) or data.get("version") != HEAD_VERSION:
        raise ValueError(f"not an injection head file of version {HEAD_VERSION}")
    return LinearHead(
        embed_model=str(data["embed_model"]),
        weights=tuple(float(w) for w in data["weights"]),
        bias=float(data["bias"]),
        threshold=float(data["threshold"]),
    )


def fit_head(
    vectors: Sequence[Sequence[float]],
    labels: Sequence[int],
    embed_model: str,
    *,
    epochs: int = 400,
    learning_rate: float = 0.5,
    l2: float = 1e-3,
    threshold: float = 0.5,
) -> LinearHead:
    """Logistic regression by full-batch gradient descent (deterministic: zeros to start),
    classes weighted to balance. ``threshold`` is fixed beforehand, not tuned on any set."""
    if not vectors or len(vectors) != len(labels):
        raise ValueError("need as many labels as vectors, and at least one")
    dims = len(vectors[0])
    positives = sum(labels)
    if positives in (0, len(labels)):
        raise ValueError("the training set needs both attacks and benign texts")
    weight_of = {1: len(labels) / (2 * positives), 0: len(labels) / (2 * (len(labels) - positives))}
    weights = [0.0] * dims
    bias = 0.0
    for _ in range(epochs):
        grad = [0.0] * dims
        grad_bias = 0.0
        for vector, label in zip(vectors, labels, strict=True):
            z = bias + sum(w * x for w, x in zip(weights, vector, strict=True))
            error = (1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0))) - label) * weight_of[label]
            grad_bias += error
            for i, x in enumerate(vector):
                grad[i] += error * x
        n = len(vectors)
        weights = [w - learning_rate * (g / n + l2 * w) for w, g in zip(weights, grad, strict=True)]
        bias -= learning_rate * grad_bias / n
    return LinearHead(embed_model, tuple(weights), bias, threshold)


@dataclass(frozen=True)
class Probe:
    text: str
    label: int  # 1 attack, 0 benign look-alike
    where: str  # prompt | document


def parse_probes(lines: Sequence[str]) -> list[Probe]:
    probes = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("label") not in (0, 1) or row.get("where") not in ("prompt", "document"):
            raise ValueError(f"line {number}: needs label 0|1 and where prompt|document")
        probes.append(Probe(str(row["text"]), int(row["label"]), str(row["where"])))
    return probes


@dataclass(frozen=True)
class Rates:
    caught: float  # attacks flagged / attacks
    caught_prompt: float
    caught_document: float
    false_positive: float  # benign flagged / benign
    attacks: int
    benign: int


def _share(hits: Sequence[bool]) -> float:
    return sum(hits) / len(hits) if hits else 0.0


def evaluate(probes: Sequence[Probe], flags: Callable[[Probe], bool]) -> Rates:
    flagged = [(probe, flags(probe)) for probe in probes]
    attacks = [hit for probe, hit in flagged if probe.label == 1]
    return Rates(
        caught=_share(attacks),
        caught_prompt=_share([h for p, h in flagged if p.label == 1 and p.where == "prompt"]),
        caught_document=_share([h for p, h in flagged if p.label == 1 and p.where == "document"]),
        false_positive=_share([hit for probe, hit in flagged if probe.label == 0]),
        attacks=len(attacks),
        benign=len(flagged) - len(attacks),
    )
