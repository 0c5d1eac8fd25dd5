"""Profiles, seeded prompt sets and load schedules (the shapes' pure half)."""

# ruff: noqa: S311 -- seeded generators make the pacing reproducible

from __future__ import annotations

import random
from pathlib import Path

import pytest
from pydantic import ValidationError

from llmops_loadtest.core.profile import Profile
from llmops_loadtest.core.prompts import (
    DistributionPrompts,
    FilePrompts,
    FixedPrompts,
    LengthDistribution,
    build_prompts,
)
from llmops_loadtest.core.schedule import (
    ConstantRate,
    GoodputSweep,
    Pacer,
    PoissonRate,
    Stage,
    StepRamp,
    stage_at,
)


def test_the_same_seed_gives_the_same_prompts() -> None:
    spec = DistributionPrompts(
        input=LengthDistribution(mean=50, stddev=20, min=5, max=80),
        output=LengthDistribution(dist="lognormal", mean=30, stddev=10, min=1, max=64),
    )
    first = build_prompts(spec, seed=7, count=50)
    assert first == build_prompts(spec, seed=7, count=50)
    assert first != build_prompts(spec, seed=8, count=50)
    assert all(5 <= len(prompt.text.split()) <= 80 for prompt in first)
    assert all(1 <= prompt.max_tokens <= 64 for prompt in first)


def test_fixed_prompts_have_exact_word_and_output_counts() -> None:
    prompts = build_prompts(FixedPrompts(input_tokens=12, output_tokens=8), seed=0, count=3)
    assert [len(prompt.text.split()) for prompt in prompts] == [12, 12, 12]
    assert {prompt.max_tokens for prompt in prompts} == {8}


def test_file_prompts_read_text_and_json_lines() -> None:
    lines = ["What is Kubernetes?", '{"prompt": "Explain RAG.", "max_tokens": 5}', ""]
    prompts = build_prompts(
        FilePrompts(path=Path("p.txt"), output_tokens=9), seed=1, count=4, file_lines=lines
    )
    assert len(prompts) == 4
    assert {(p.text, p.max_tokens) for p in prompts} == {
        ("What is Kubernetes?", 9),
        ("Explain RAG.", 5),
    }


def test_profile_refuses_windows_longer_than_the_load() -> None:
    with pytest.raises(ValidationError, match="must be shorter"):
        Profile.model_validate(
            {
                "name": "x",
                "load": {"shape": "fixed_concurrency", "users": 1, "duration_s": 5},
                "warmup_s": 3,
                "cooldown_s": 2,
            }
        )


def test_profile_reads_every_shape_by_name() -> None:
    profile = Profile.model_validate(
        {"name": "x", "load": {"shape": "step_ramp", "start_users": 1, "step_users": 2,
                               "steps": 3, "step_s": 10}}
    )  # fmt: skip
    assert [stage.users for stage in profile.stages()] == [1, 3, 5]
    assert profile.duration_s == 30


def test_open_loop_shapes_cap_concurrency_and_carry_the_rate() -> None:
    (constant,) = ConstantRate(rate_rps=4, duration_s=10, max_users=8).stages()
    assert (constant.users, constant.arrival, constant.rate_rps) == (8, "constant", 4)
    (poisson,) = PoissonRate(rate_rps=2, duration_s=10).stages()
    assert poisson.arrival == "poisson"
    sweep = GoodputSweep(rates_rps=(1, 2, 4), step_s=5).stages()
    assert [(s.start_s, s.end_s, s.rate_rps) for s in sweep] == [(0, 5, 1), (5, 10, 2), (10, 15, 4)]


def test_stage_at_walks_the_schedule_and_ends_it() -> None:
    stages = StepRamp(start_users=1, step_users=1, steps=2, step_s=10).stages()
    assert stage_at(stages, 0).users == 1  # type: ignore[union-attr]
    assert stage_at(stages, 10).users == 2  # type: ignore[union-attr]
    assert stage_at(stages, 20) is None


def test_constant_pacing_spaces_one_users_requests_evenly() -> None:
    # 4 users share 2 req/s: each user sends one request every 2 s
    stage = Stage(0, 0, 100, users=4, arrival="constant", rate_rps=2)
    pacer = Pacer(random.Random(0))
    first = pacer.wait_s(stage, now=0.0)
    assert 0 <= first <= 2
    # the request took 0.5 s: the next one is 2 s after the first, not after its end
    assert pacer.wait_s(stage, now=first + 0.5) == pytest.approx(1.5)


def test_poisson_pacing_has_the_asked_mean_rate() -> None:
    stage = Stage(0, 0, 1e9, users=1, arrival="poisson", rate_rps=5)
    pacer = Pacer(random.Random(3))
    now = 0.0
    for _ in range(4000):
        now += pacer.wait_s(stage, now)
    assert 4000 / now == pytest.approx(5, rel=0.05)


def test_a_late_user_does_not_burst_to_catch_up() -> None:
    stage = Stage(0, 0, 100, users=1, arrival="constant", rate_rps=1)
    pacer = Pacer(random.Random(0))
    pacer.wait_s(stage, now=0.0)
    assert pacer.wait_s(stage, now=10.0) == 0.0  # 9 s late: go now
    assert pacer.wait_s(stage, now=10.1) == pytest.approx(0.9)  # then back to 1 per second


def test_closed_loop_stages_never_wait() -> None:
    assert Pacer(random.Random(0)).wait_s(Stage(0, 0, 10, users=3), now=5.0) == 0.0
