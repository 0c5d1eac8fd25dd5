"""The gate Job runner's pure parts: names from keys, and settings that refuse a half setup."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from llmops_operator.clients.loadtest_job import job_name
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
