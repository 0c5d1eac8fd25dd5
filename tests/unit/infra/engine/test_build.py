"""Which build steps run: pure planning over what is already on disk."""

from __future__ import annotations

import pytest

from llmops_infra.engine.build import (
    CHECK_IMPORTS,
    CONVERT_GEMMA,
    CREATE_VENV,
    INSTALL,
    MARK_READY,
    plan_build,
)

pytestmark = pytest.mark.unit

VENV_STEPS = [CREATE_VENV, INSTALL, CHECK_IMPORTS, MARK_READY]


def test_nothing_runs_when_everything_is_built() -> None:
    assert plan_build(venv_ready=True, gemma_ready=True) == []


def test_a_cold_machine_builds_the_venv_before_converting_the_model() -> None:
    # The conversion runs in the venv's Python, so it must come last.
    assert plan_build(venv_ready=False, gemma_ready=False) == [*VENV_STEPS, CONVERT_GEMMA]


def test_the_ready_marker_is_written_last_of_the_venv_steps() -> None:
    assert plan_build(venv_ready=False, gemma_ready=True)[-1] == MARK_READY


def test_a_missing_model_alone_is_converted_without_touching_the_venv() -> None:
    assert plan_build(venv_ready=True, gemma_ready=False) == [CONVERT_GEMMA]


def test_force_redoes_everything() -> None:
    assert plan_build(venv_ready=True, gemma_ready=True, force=True) == [
        *VENV_STEPS,
        CONVERT_GEMMA,
    ]
