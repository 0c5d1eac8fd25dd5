"""The gate Job runner's pure parts: names from keys, and settings that refuse a half setup."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from llmops_contracts.release import EVALUATIONS_KEY
from llmops_operator.clients.loadtest import read_evaluation_records
from llmops_operator.clients.loadtest_job import _from_verdict, job_name
from llmops_operator.core.state.status import LoadTestVerdict
from llmops_operator.settings import OperatorSettings


def test_a_job_is_named_after_its_modeldeployment_and_gate_run() -> None:
    assert job_name("llmops.chat.lt-1a2b3c4d-s2") == "chat-lt-1a2b3c4d-s2"


def test_a_long_name_is_cut_with_a_hash_so_two_keys_never_share_a_job() -> None:
    md = "a-very-long-modeldeployment-name-that-goes-on-and-on"
    first = job_name(f"ns.{md}.lt-1a2b3c4d-s1")
    second = job_name(f"ns.{md}.lt-1a2b3c4d-s2")
    assert first != second
    assert len(first) <= 55 and len(second) <= 55  # "-verdict" still fits in 63
    assert first.startswith("a-very-long")


def test_the_job_runner_needs_an_image() -> None:
    with pytest.raises(ValidationError, match="loadtest_image"):
        OperatorSettings(loadtest_runner="job")
    settings = OperatorSettings(
        loadtest_runner="job",
        loadtest_image="docker.io/llmops/llmops-operator:0.1.0",
        loadtest_node_selector='{"llmops.dev/node": "real"}',  # type: ignore[arg-type]
        loadtest_tolerations="[]",  # type: ignore[arg-type]
    )
    assert settings.loadtest_node_selector == {"llmops.dev/node": "real"}
    assert settings.loadtest_tolerations == []


RECORD = {
    "kind": "rag", "dataset": "configmap:g/golden.yaml", "datasetVersion": "v1",
    "datasetSha256": "ab", "seed": 7, "model": "rag", "topK": 2, "maxTokens": 6,
    "metrics": {"hit_rate": 1.0}, "passed": True,
}  # fmt: skip


def test_a_verdict_brings_its_evaluation_records_to_the_operator() -> None:
    verdict = {"passed": "true", "headline": "PASS (1/1 thresholds met)",
               EVALUATIONS_KEY: json.dumps([RECORD])}  # fmt: skip
    seen = _from_verdict("ev-1", verdict, "ns", "md-ev-1")
    assert seen is not None and seen.verdict is LoadTestVerdict.PASSED
    (record,) = seen.evaluations
    assert (record.dataset, record.top_k, record.metrics) == ("configmap:g/golden.yaml", 2,
                                                              {"hit_rate": 1.0})  # fmt: skip
    assert seen.message == "PASS (1/1 thresholds met)"


def test_unreadable_records_leave_the_verdict_and_say_why_in_the_headline() -> None:
    assert read_evaluation_records(None) == ((), "")  # a load test has none
    assert read_evaluation_records("[]") == ((), "")
    verdict = {"passed": "true", "headline": "PASS", EVALUATIONS_KEY: '[{"kind": "rag"}]'}
    seen = _from_verdict("ev-1", verdict, "ns", "md-ev-1")
    assert seen is not None and seen.verdict is LoadTestVerdict.PASSED and seen.evaluations == ()
    assert seen.message.startswith(
        "PASS (its evaluations.json is unreadable, not in the release manifest:"
    )
