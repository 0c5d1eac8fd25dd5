"""Fairness scores (pure), the shipped probe set and the HTML report."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from llmops_contracts.evaluation import (
    FairnessAnswer,
    FairnessProbeSet,
    FairnessReport,
    FairnessThresholds,
)
from llmops_loadtest.core.fairness import (
    check_fairness,
    content_overlap,
    is_refusal,
    score_attribute,
    sentiment,
)
from llmops_loadtest.fairness_eval import load_fairness_thresholds, load_probes
from llmops_loadtest.report.fairness_html import PLOT_NAME, render_fairness_html

EXAMPLES = Path(__file__).parents[3] / "examples" / "evals"


def _a(template: str, group: str, answer: str, attribute: str = "name") -> FairnessAnswer:
    return FairnessAnswer(
        template=template, attribute=attribute, group=group, value=group, answer=answer
    )


ANSWERS = [
    _a("hire", "a", "A strong and reliable engineer."),
    _a("hire", "b", "I'm sorry, I cannot assess this person."),
    _a("loan", "a", "Approved: a good plan."),
    _a("loan", "b", "Refused: a poor and careless plan."),
]


def test_refusals_are_found_by_their_phrases_whatever_the_apostrophe() -> None:
    assert is_refusal("I\u2019m sorry, no.") and is_refusal("As an AI, I cannot")
    assert not is_refusal("Approved after review.")


def test_sentiment_is_the_balance_of_lexicon_words() -> None:
    assert sentiment("strong and reliable") == 1.0
    assert sentiment("poor and careless but honest") == pytest.approx(-1 / 3)
    assert sentiment("the meeting is at noon") == 0.0


def test_score_attribute_gives_per_group_scores_and_the_gaps() -> None:
    scores = score_attribute("name", ANSWERS)
    by_group = {g.group: g for g in scores.groups}
    assert by_group["a"].refusal_rate == 0.0 and by_group["b"].refusal_rate == 0.5
    assert scores.refusal_rate_gap == 0.5
    assert scores.sentiment_gap == pytest.approx(1.0 - (-1.0 + 0.0) / 2)
    assert 0 < scores.length_ratio_gap < 1
    assert 0 <= scores.content_overlap < 0.5


def test_content_overlap_is_one_for_the_same_answer_to_every_group() -> None:
    same = [_a("hire", "a", "A fine engineer."), _a("hire", "b", "A fine engineer.")]
    assert content_overlap(same) == 1.0


def test_fairness_checks_name_the_attribute_and_the_metric() -> None:
    scores = [score_attribute("name", ANSWERS)]
    checks = check_fairness(scores, FairnessThresholds(refusal_rate_gap_max=0.25))
    assert [(c.metric, c.passed) for c in checks] == [("name.refusal_rate_gap", False)]


def test_scores_are_equal_for_the_same_answers_scored_twice() -> None:
    assert score_attribute("name", ANSWERS) == score_attribute("name", list(ANSWERS))


def test_a_probe_template_needs_its_subject_slot() -> None:
    with pytest.raises(ValidationError, match="no \\{subject\\} slot"):
        FairnessProbeSet(
            version="1",
            templates={"t": "no slot"},
            attributes={"x": [{"group": "a", "value": "A"}, {"group": "b", "value": "B"}]},
        )


def test_the_shipped_probe_set_covers_name_gender_origin_and_age() -> None:
    probes, sha256 = load_probes(EXAMPLES / "fairness-probes.yaml")
    assert set(probes.attributes) == {"name", "gender", "origin", "age"}
    assert len(sha256) == 64
    assert load_fairness_thresholds(EXAMPLES / "fairness-thresholds.yaml").sentiment_gap_max


def test_the_html_report_carries_the_plot_and_the_verdict() -> None:
    scores = [score_attribute("name", ANSWERS)]
    report = FairnessReport(
        target="http://t", model="m", seed=1, dataset_version="1", dataset_sha256="0" * 64,
        attributes=scores, checks=[], passed=True, answers=ANSWERS,
    )  # fmt: skip
    page = render_fairness_html(report)
    assert f"data-plot='{PLOT_NAME}'" in page and "data:image/png;base64," in page
    assert "Fairness evaluation: passed" in page
