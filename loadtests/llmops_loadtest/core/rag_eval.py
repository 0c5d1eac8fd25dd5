"""RAG evaluation metrics over a golden set (pure: no HTTP here, the shell is `rag_eval`).

Retrieval is judged against the documents the golden set says hold the answer, by document
name in retrieval order (a document cited by several chunks counts once, at its first rank):

- hit: at least one expected document among the top k;
- recall@k: the share of expected documents among the top k;
- reciprocal rank: 1 / the rank of the first expected document (0 if none).

The answer is judged lexically against the reference (SQuAD-style token F1 after lowercasing
and dropping punctuation and articles), so the gate needs no judge model and gives the same
number for the same answer every time.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Sequence

from llmops_contracts.evaluation import (
    GoldenItem,
    RagItemResult,
    RagMetrics,
    RagThresholds,
    ThresholdCheck,
)

_TOKEN = re.compile(r"[a-z0-9]+(?:[.:][0-9]+)*")
_ARTICLES = frozenset({"a", "an", "the"})


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens, articles dropped; ``02:00`` and ``1.5`` stay one token."""
    return [tok for tok in _TOKEN.findall(text.lower()) if tok not in _ARTICLES]


def token_f1(prediction: str, reference: str) -> float:
    pred, ref = tokenize(prediction), tokenize(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def ranked_documents(cited: Sequence[str]) -> list[str]:
    """Document names in first-cited order, each once."""
    return list(dict.fromkeys(cited))


def recall_at_k(retrieved: Sequence[str], expected: Sequence[str], k: int) -> float:
    top = set(ranked_documents(retrieved)[:k])
    wanted = set(expected)
    return len(top & wanted) / len(wanted)


def reciprocal_rank(retrieved: Sequence[str], expected: Sequence[str]) -> float:
    wanted = set(expected)
    for rank, doc in enumerate(ranked_documents(retrieved), start=1):
        if doc in wanted:
            return 1.0 / rank
    return 0.0


def score_item(
    item: GoldenItem, cited: Sequence[str], answer: str, latency_seconds: float, k: int
) -> RagItemResult:
    retrieved = ranked_documents(cited)
    recall = recall_at_k(retrieved, item.documents, k)
    return RagItemResult(
        id=item.id,
        retrieved=retrieved,
        hit=any(doc in item.documents for doc in retrieved[:k]),
        recall_at_k=recall,
        reciprocal_rank=reciprocal_rank(retrieved, item.documents),
        token_f1=token_f1(answer, item.answer),
        answer=answer,
        latency_seconds=latency_seconds,
    )


def failed_item(item: GoldenItem, error: str, latency_seconds: float) -> RagItemResult:
    return RagItemResult(
        id=item.id,
        retrieved=[],
        hit=False,
        recall_at_k=0.0,
        reciprocal_rank=0.0,
        token_f1=0.0,
        answer="",
        latency_seconds=latency_seconds,
        error=error,
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def aggregate(results: Sequence[RagItemResult]) -> RagMetrics:
    n = len(results)
    if n == 0:
        raise ValueError("no results to aggregate: the golden set has at least one item")
    errors = sum(1 for r in results if r.error is not None)
    latencies = [r.latency_seconds for r in results if r.error is None]
    judged = [r for r in results if r.faithfulness is not None and r.correctness is not None]
    return RagMetrics(
        items=n,
        errors=errors,
        error_ratio=errors / n,
        hit_rate=sum(r.hit for r in results) / n,
        recall_at_k=sum(r.recall_at_k for r in results) / n,
        mrr=sum(r.reciprocal_rank for r in results) / n,
        token_f1=sum(r.token_f1 for r in results) / n,
        latency_p50_seconds=percentile(latencies, 50),
        latency_p95_seconds=percentile(latencies, 95),
        judged=len(judged),
        faithfulness=_mean([r.faithfulness for r in judged]),
        correctness=_mean([r.correctness for r in judged]),
    )


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


# threshold field -> (metric field, True when the metric must be at least the bound)
_BOUNDS: dict[str, tuple[str, bool]] = {
    "hit_rate_min": ("hit_rate", True),
    "recall_at_k_min": ("recall_at_k", True),
    "mrr_min": ("mrr", True),
    "token_f1_min": ("token_f1", True),
    "error_ratio_max": ("error_ratio", False),
    "latency_p95_seconds_max": ("latency_p95_seconds", False),
    "faithfulness_min": ("faithfulness", True),
    "correctness_min": ("correctness", True),
}


def check_thresholds(metrics: RagMetrics, thresholds: RagThresholds) -> list[ThresholdCheck]:
    checks: list[ThresholdCheck] = []
    for field, (metric, at_least) in _BOUNDS.items():
        bound = getattr(thresholds, field)
        if bound is None:
            continue
        measured = getattr(metrics, metric)
        if measured is None:  # a judge's metric, and no question was judged: not met
            checks.append(ThresholdCheck(metric=metric, bound=bound, value=0.0, passed=False))
            continue
        value = float(measured)
        passed = value >= bound if at_least else value <= bound
        checks.append(ThresholdCheck(metric=metric, bound=bound, value=value, passed=passed))
    return checks


def dataset_sha256(raw: bytes) -> str:
    """The golden set file's hash, as bytes on disk: what a release manifest pins."""
    return hashlib.sha256(raw).hexdigest()
