"""The LLM judge of RAG answers: its versioned prompt, the reading of its reply, and how its
scores reach the metrics and the gate (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops_contracts.evaluation import GoldenItem, RagThresholds
from llmops_loadtest.core.judge import (
    PROMPT,
    PROMPT_VERSION,
    parse_judgement,
    prompt_identity,
    render_prompt,
)
from llmops_loadtest.core.rag_eval import aggregate, check_thresholds, score_item
from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.rag_eval import Judge, load_judge_prompt

ITEM = GoldenItem(id="q", question="How long?", answer="14 days.", documents=["b.md"])


def test_should_put_every_part_of_the_question_into_the_prompt() -> None:
    prompt = render_prompt(
        PROMPT, question="How long?", reference="14 days.",
        passages=["Backups are kept 14 days. ", "Logs 30 days."], answer="14 days",
    )  # fmt: skip

    assert "Question: How long?" in prompt and "Reference answer: 14 days." in prompt
    assert "[1] Backups are kept 14 days.\n[2] Logs 30 days." in prompt
    assert "Assistant's answer: 14 days" in prompt
    assert "{" not in prompt  # no placeholder left


def test_should_say_when_nothing_was_retrieved_or_answered() -> None:
    prompt = render_prompt(PROMPT, question="q", reference="r", passages=[], answer="")

    assert "(none)" in prompt and "Assistant's answer: (empty)" in prompt


@pytest.mark.parametrize(
    ("reply", "scores"),
    [
        ("faithfulness: 5\ncorrectness: 1", (1.0, 0.0)),
        ("Faithfulness - 4\nCorrectness: 3\n", (0.75, 0.5)),
        ("**faithfulness**: 2, **correctness**: 5", (0.25, 1.0)),
        ("correctness: 2\nfaithfulness: 3\ncorrectness: 5", (0.5, 0.25)),  # the first of each
    ],
)
def test_should_read_both_scores_on_a_zero_to_one_scale(
    reply: str, scores: tuple[float, float]
) -> None:
    judgement = parse_judgement(reply)

    assert judgement is not None
    assert (judgement.faithfulness, judgement.correctness) == scores


@pytest.mark.parametrize(
    "reply",
    ["faithfulness: 5", "I think it is good.", "faithfulness: 7\ncorrectness: 3", ""],
)
def test_should_not_guess_a_score_the_reply_does_not_give(reply: str) -> None:
    assert parse_judgement(reply) is None


def test_should_identify_the_prompt_by_version_and_text() -> None:
    version, sha = prompt_identity(PROMPT, PROMPT_VERSION)
    _, other = prompt_identity(PROMPT + "Be strict.\n", PROMPT_VERSION)

    assert version == "rag-judge-v1" and len(sha) == 64 and sha != other
    assert Judge("http://judge/v1", "m").info().prompt_sha256 == sha


def test_should_refuse_a_prompt_file_without_the_placeholders(tmp_path: Path) -> None:
    path = tmp_path / "strict-v2.txt"
    path.write_text("Grade {question} against {reference}.")

    with pytest.raises(LoadtestError, match=r"lacks \{passages\}, \{answer\}"):
        load_judge_prompt(path)
    path.write_text(PROMPT + "Be strict.\n")
    assert load_judge_prompt(path) == (PROMPT + "Be strict.\n", "strict-v2")


def test_should_average_only_the_judged_answers_and_gate_on_them() -> None:
    scored = score_item(ITEM, ["b.md"], "14 days", 0.5, 2)
    judged = [
        scored.model_copy(update={"faithfulness": 1.0, "correctness": 0.5}),
        scored.model_copy(update={"faithfulness": 0.5, "correctness": 0.0}),
        scored.model_copy(update={"judge_note": "no scores in the reply: 'ok'"}),
    ]

    metrics = aggregate(judged)
    checks = check_thresholds(metrics, RagThresholds(faithfulness_min=0.7, correctness_min=0.3))

    assert (metrics.judged, metrics.faithfulness, metrics.correctness) == (2, 0.75, 0.25)
    assert [(c.metric, c.passed) for c in checks] == [
        ("faithfulness", True), ("correctness", False),
    ]  # fmt: skip


def test_should_fail_a_judge_bound_when_no_answer_was_judged() -> None:
    metrics = aggregate([score_item(ITEM, ["b.md"], "14 days", 0.5, 2)])

    (check,) = check_thresholds(metrics, RagThresholds(faithfulness_min=0.1))

    assert metrics.judged == 0 and metrics.faithfulness is None
    assert not check.passed and check.value == 0.0
