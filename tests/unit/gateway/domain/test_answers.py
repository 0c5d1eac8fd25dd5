"""Answered, empty or a refusal: what `llmops_gateway_answers_total{outcome}` counts."""

from __future__ import annotations

import pytest

from llmops_gateway.domain.answers import answer_of, classify_answer


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't help with that.",
        "Sorry, I cannot assist with this request.",
        "I cannot help with that.",
        "I can\u2019t provide that information.",  # a typographic apostrophe
        "I am unable to answer that.",
        "I don't know.",
        "I do not know based on the context.",
        "The context does not contain the answer.",
        "The provided documents do not mention backups.",
        "These documents don't contain the answer.",  # what rag-v2 asks for
        "As an AI, I can't browse the web.",
        "  \n i won't do that",
    ],
)
def test_should_count_a_refusal_by_its_opening(text: str) -> None:
    assert classify_answer(text) == "refusal"


@pytest.mark.parametrize(
    "text",
    [
        "Backups run every night at 02:00 UTC.",
        "I can help with that: backups run at 02:00.",
        "Backups run at 02:00. I can't be sure about weekends.",  # only the opening counts
        "Sorry for the wait: backups run at 02:00.",
        "tok0 tok1",
    ],
)
def test_should_count_an_answer_that_opens_with_content_as_answered(text: str) -> None:
    assert classify_answer(text) == "answered"


def test_should_count_no_text_as_empty_unless_the_backend_refused() -> None:
    assert classify_answer("") == "empty"
    assert classify_answer(" \n\t") == "empty"
    assert classify_answer("", refused=True) == "refusal"


def test_should_read_every_choice_and_the_backends_refusal_flags() -> None:
    chat = {"choices": [{"message": {"content": "a"}}, {"message": {"content": "b"}}]}
    flagged = {"choices": [{"message": {"content": None, "refusal": "I must decline."}}]}
    filtered = {"choices": [{"text": "", "finish_reason": "content_filter"}]}

    assert answer_of(chat) == ("ab", False)
    assert answer_of(flagged) == ("", True)
    assert answer_of(filtered) == ("", True)
    assert answer_of({"choices": [{"text": "tok0"}]}) == ("tok0", False)
    assert answer_of({}) == ("", False)
