"""Import built images into the node's containerd (``k8s.io`` namespace, where kubelet looks).

Each archive names its image ``docker.io/llmops/<name>:<tag>`` (see `llmops_infra.images.build`),
and ``ctr images import`` keeps that name, so pods use it with ``imagePullPolicy: Never``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from llmops_infra.errors import LlmopsError
from llmops_infra.settings import base_env

NAMESPACE = "k8s.io"


def build_import_command(ctr: str, socket: Path, archive: Path) -> list[str]:
    return [ctr, "--address", str(socket), "-n", NAMESPACE, "images", "import", str(archive)]


def load(archives: Sequence[Path], socket: Path) -> None:
    """Import every archive through containerd's `socket`; one failure stops with its reason."""
    ctr = shutil.which("ctr", path=base_env().get("PATH"))
    if ctr is None:
        raise LlmopsError("ctr", "not found on PATH", "apt-get install containerd")
    if not socket.is_socket():
        raise LlmopsError(
            "containerd", f"no socket at {socket}", "llmops cluster up (starts the node)"
        )
    for archive in archives:
        if not archive.is_file():
            raise LlmopsError(f"image {archive.name}", "archive missing", "llmops images build")
        result = subprocess.run(
            build_import_command(ctr, socket, archive),
            capture_output=True,
            text=True,
            env=base_env(),
            check=False,
        )
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
            raise LlmopsError(f"ctr import {archive.name}", last, "check containerd's log")
