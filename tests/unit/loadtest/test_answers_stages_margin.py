"""RAG answers are judged beyond their status; ramps are judged step by step; the report
says by how much an SLO was missed."""

from __future__ import annotations

from typing import Any

import pytest

from llmops_loadtest.core.analysis import analyze
from llmops_loadtest.core.answers import judge_ingest_report, judge_rag_answer
from llmops_loadtest.core.gate import Gate
from llmops_loadtest.core.profile import Profile
from llmops_loadtest.core.records import ErrorKind
from llmops_loadtest.report.fmt import fmt_margin
from tests.unit.loadtest.helpers import ok

CITATION = {"index": 1, "document": "a.txt", "chunk": 0, "score": 0.9, "text": "x"}
USAGE = {"prompt_tokens": 30, "completion_tokens": 4, "total_tokens": 34}


def test_a_rag_answer_with_citations_succeeds_with_the_gateways_usage() -> None:
    judged = judge_rag_answer({"answer": "yes", "citations": [CITATION], "usage": USAGE})
    assert judged.success
    assert (judged.input_tokens, judged.output_tokens, judged.tokens_from_usage) == (30, 4, True)


def test_a_rag_answer_without_citations_is_a_failed_sample_that_keeps_its_tokens() -> None:
    judged = judge_rag_answer({"answer": "guess", "citations": [], "usage": USAGE})
    assert not judged.success
    assert judged.error_kind is ErrorKind.NO_CITATIONS
    assert judged.output_tokens == 4


def test_a_rag_answer_of_another_shape_is_malformed() -> None:
    assert judge_rag_answer({"choices": []}).error_kind is ErrorKind.MALFORMED
    assert judge_rag_answer([1, 2]).error_kind is ErrorKind.MALFORMED


def test_an_ingest_report_fails_when_a_document_failed_or_is_missing() -> None:
    added = {"document": "a.txt", "status": "added", "chunks": 1}
    assert judge_ingest_report({"documents": [added]}, sent=1).success
    broken = {"document": "b.pdf", "status": "failed", "error": "not a PDF"}
    judged = judge_ingest_report({"documents": [added, broken]}, sent=2)
    assert judged.error_kind is ErrorKind.DOCUMENT_FAILED
    assert judged.error == "b.pdf: not a PDF"
    assert judge_ingest_report({"documents": []}, sent=1).error_kind is ErrorKind.MALFORMED


def test_ingest_profiles_must_name_the_collection() -> None:
    load = {"shape": "fixed_concurrency", "users": 1, "duration_s": 5}
    with pytest.raises(ValueError, match=r"extra_body\.collection"):
        Profile.model_validate({"name": "i", "api": "ingest", "load": load})
    profile = Profile.model_validate(
        {"name": "i", "api": "ingest", "load": load, "extra_body": {"collection": "docs"}}
    )
    assert profile.paths.ingest == "/v1/ingest"


def test_a_ramp_judges_each_step_and_leaves_the_warmup_out_of_the_first() -> None:
    profile = Profile.model_validate(
        {
            "name": "ramp",
            "load": {"shape": "step_ramp", "start_users": 1, "step_users": 1, "steps": 3,
                     "step_s": 10},
            "warmup_s": 4,
        }
    )  # fmt: skip
    gate = Gate.model_validate({"slos": ["ttft_p95_s <= 0.5"]})
    start = 1000.0
    records = [ok(start + 1, ttft_s=5.0, e2e_s=5.5)]  # warm-up: slow, and left out
    records += [ok(start + t, ttft_s=0.1, e2e_s=0.5) for t in (5, 6, 12, 13)]
    records += [ok(start + t, ttft_s=0.9, e2e_s=1.0) for t in (22, 23)]
    data = analyze(records, run_start=start, run_end=start + 30, profile=profile, gate=gate)
    steps = data["ramp"]["stages"]
    assert [step["measured_window_s"] for step in steps] == [[4, 10], [10, 20], [20, 30]]
    assert [step["verdict"]["passed"] for step in steps] == [True, True, False]
    assert steps[0]["requests_excluded"] == 1
    assert data["ramp"]["max_passing_users"] == 2
    windows = data["targets"]["target"]["requests_by_window"]
    assert windows == {"warmup": 1, "cooldown": 0, "measured": 6}


def _result(
    metric: str, op: str, threshold: float, observed: float, passed: bool
) -> dict[str, Any]:
    return {"metric": metric, "op": op, "threshold": threshold, "observed": observed,
            "passed": passed, "scope": "absolute"}  # fmt: skip


def test_the_margin_says_how_far_over_or_under_the_limit() -> None:
    assert fmt_margin(_result("ttft_p95_s", "<=", 0.35, 0.457, False)) == (
        "107.0 ms over the limit (31 %)"
    )
    assert fmt_margin(_result("ttft_p95_s", "<=", 0.5, 0.2, True)) == "300.0 ms headroom"
    assert fmt_margin(_result("output_tokens_per_s", ">=", 50, 40, False)) == (
        "10.00/s under the limit (20 %)"
    )
    assert fmt_margin(_result("error_ratio", "<=", 0.01, 0.03, False)) == (
        "2.00 pp over the limit (200 %)"
    )
