"""RAG evaluation metrics (pure) and the shipped golden set."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from llmops_contracts.evaluation import GoldenItem, GoldenSet, RagThresholds
from llmops_loadtest.core.rag_eval import (
    aggregate,
    check_thresholds,
    failed_item,
    percentile,
    ranked_documents,
    recall_at_k,
    reciprocal_rank,
    score_item,
    token_f1,
    tokenize,
)
from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.rag_eval import load_golden_set, load_thresholds

EXAMPLES = Path(__file__).parents[3] / "examples"
ITEM = GoldenItem(id="q", question="?", answer="Backups are kept for 14 days.", documents=["b.md"])


def test_tokenize_drops_articles_and_punctuation_and_keeps_times_whole() -> None:
    assert tokenize("The backup runs at 02:00 UTC, a test!") == [
        "backup",
        "runs",
        "at",
        "02:00",
        "utc",
        "test",
    ]


def test_token_f1_is_one_for_the_same_words_and_zero_for_none_shared() -> None:
    assert token_f1("Kept for 14 days", "kept for 14 days.") == 1.0
    assert token_f1("never", "kept for 14 days") == 0.0


def test_token_f1_counts_partial_overlap() -> None:
    # 2 shared of 3 predicted and 4 reference tokens: P=2/3, R=1/2, F1=4/7
    assert token_f1("14 days please", "kept for 14 days") == pytest.approx(4 / 7)


def test_ranked_documents_keeps_the_first_rank_of_a_document_cited_twice() -> None:
    assert ranked_documents(["a", "b", "a", "c"]) == ["a", "b", "c"]


def test_recall_at_k_counts_expected_documents_in_the_top_k_only() -> None:
    assert recall_at_k(["x", "a", "b"], ["a", "b"], k=2) == 0.5
    assert recall_at_k(["x", "a", "b"], ["a", "b"], k=3) == 1.0


def test_reciprocal_rank_is_one_over_the_first_relevant_rank() -> None:
    assert reciprocal_rank(["x", "x", "a"], ["a"]) == pytest.approx(1 / 2)
    assert reciprocal_rank(["x"], ["a"]) == 0.0


def test_score_item_judges_retrieval_and_answer() -> None:
    result = score_item(ITEM, ["other.md", "b.md", "b.md"], "kept for 14 days", 0.5, k=4)
    assert result.hit and result.recall_at_k == 1.0
    assert result.reciprocal_rank == 0.5
    assert 0 < result.token_f1 < 1
    assert result.retrieved == ["other.md", "b.md"]


def test_a_wrong_collection_scores_zero_on_retrieval() -> None:
    result = score_item(ITEM, ["unrelated.md"], "kept for 14 days", 0.5, k=4)
    assert not result.hit and result.recall_at_k == 0.0 and result.reciprocal_rank == 0.0


def test_aggregate_counts_failed_requests_as_zero_and_as_errors() -> None:
    good = score_item(ITEM, ["b.md"], "Backups are kept for 14 days.", 1.0, k=4)
    bad = failed_item(ITEM, "HTTP 502", 3.0)
    metrics = aggregate([good, bad])
    assert metrics.errors == 1 and metrics.error_ratio == 0.5
    assert metrics.hit_rate == 0.5 and metrics.mrr == 0.5 and metrics.token_f1 == 0.5
    assert metrics.latency_p95_seconds == 1.0  # failed requests have no latency to judge


def test_percentile_is_nearest_rank() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile([1, 2, 3, 4], 95) == 4
    assert percentile([], 95) == 0.0


def test_thresholds_name_the_failing_metric_and_skip_unset_bounds() -> None:
    metrics = aggregate([score_item(ITEM, ["x.md"], "kept 14 days", 0.2, k=4)])
    checks = check_thresholds(metrics, RagThresholds(hit_rate_min=0.8, latency_p95_seconds_max=1))
    assert [(c.metric, c.passed) for c in checks] == [
        ("hit_rate", False),
        ("latency_p95_seconds", True),
    ]


def test_a_golden_set_refuses_duplicate_ids() -> None:
    with pytest.raises(ValidationError, match="appears twice"):
        GoldenSet(version="1", items=[ITEM, ITEM])


def test_the_shipped_golden_set_parses_and_cites_only_pages_of_the_corpus() -> None:
    golden, sha256 = load_golden_set(EXAMPLES / "evals" / "rag-golden.yaml")
    pages = {p.name for p in (EXAMPLES / "corpus").glob("*.md")}
    assert len(golden.items) >= 10 and len(sha256) == 64
    for item in golden.items:
        assert set(item.documents) <= pages, item.id


def test_the_shipped_reference_answers_are_found_in_their_pages() -> None:
    # Every reference answer must be mostly the words of its page, or the golden set lies.
    golden, _ = load_golden_set(EXAMPLES / "evals" / "rag-golden.yaml")
    for item in golden.items:
        page = set(tokenize((EXAMPLES / "corpus" / item.documents[0]).read_text()))
        words = tokenize(item.answer)
        assert sum(w in page for w in words) / len(words) >= 0.8, item.id


def test_the_shipped_thresholds_parse() -> None:
    gate = load_thresholds(EXAMPLES / "evals" / "rag-thresholds.yaml")
    assert gate.hit_rate_min is not None


def test_a_bad_golden_set_is_one_readable_error(tmp_path: Path) -> None:
    bad = tmp_path / "g.yaml"
    bad.write_text("version: 1\nitems: []\n")
    with pytest.raises(LoadtestError, match="is not a golden set"):
        load_golden_set(bad)
