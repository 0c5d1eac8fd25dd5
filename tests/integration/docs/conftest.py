"""The docs site, built once per session with `mkdocs build --strict` as `make docs` does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops_infra.settings import REPO_ROOT

MKDOCS = Path(sys.executable).parent / "mkdocs"


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        capture_output=True, text=True, timeout=300, check=False, cwd=REPO_ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip


def site_copy(tmp_path: Path, hook: str) -> tuple[Path, Path]:
    """A copy of docs/ and a mkdocs.yml pointing at it, built with ``hook`` (the code of a
    hook file) instead of ours; returns (config, docs dir)."""
    docs = tmp_path / "docs"
    shutil.copytree(REPO_ROOT / "docs", docs)
    config: dict[str, Any] = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text())
    config["docs_dir"] = str(docs)
    (tmp_path / "planted_hook.py").write_text(hook)
    config["hooks"] = [str(tmp_path / "planted_hook.py")]
    path = tmp_path / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config))
    return path, docs


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site (the repository's mkdocs.yml and docs/, generated pages included)."""
    out = tmp_path_factory.mktemp("site")
    result = mkdocs_build(REPO_ROOT / "mkdocs.yml", out)
    assert result.returncode == 0, result.stderr[-4000:]
    return out
