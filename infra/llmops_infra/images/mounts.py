"""The hostPath mounts of the local engine pod (local overlay only), read from the disk.

The ``vllm-cpu`` image holds no vLLM: the pod mounts, read-only, the engine venv built by
`llmops engine build`, the interpreter that venv was made from (its ``bin/python`` links to
it) and the converted models. `build_engine_mounts` in `llmops_infra.images.spec` says where.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from llmops_infra.engine.layout import engine_layout
from llmops_infra.errors import LlmopsError
from llmops_infra.images.spec import build_engine_mounts, parse_pyvenv_home
from llmops_infra.settings import LocalSettings


def engine_mounts(settings: LocalSettings) -> list[tuple[Path, PurePosixPath]]:
    """(host path, container path) pairs, all read-only, for the engine pod's hostPath volumes."""
    layout = engine_layout(settings.cache_dir)
    config = layout.venv / "pyvenv.cfg"
    if not layout.ready_marker.is_file() or not config.is_file():
        raise LlmopsError("engine venv", f"not built at {layout.venv}", "llmops engine build")
    try:
        prefix = parse_pyvenv_home(config.read_text(encoding="utf-8"))
    except ValueError as err:
        raise LlmopsError("engine venv", f"{config}: {err}", "llmops engine build --force") from err
    return build_engine_mounts(layout.venv, prefix, layout.gemma_dir.parent)
