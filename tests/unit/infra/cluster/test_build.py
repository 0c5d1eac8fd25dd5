"""Pinning and caching rules of the control-plane build."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops_infra.cluster import build
from llmops_infra.errors import LlmopsError


def make_modules(root: Path) -> Path:
    for module in ("controlplane", "etcd", "kwok"):
        (root / module).mkdir(parents=True)
        (root / module / "go.mod").write_text(f"module {module}\n")
        (root / module / "go.sum").write_text("")
    return root


def test_should_parse_the_go_version() -> None:
    assert build.parse_go_version("go version go1.26.8 linux/amd64") == (1, 26)
    assert build.parse_go_version("nonsense") is None


def test_should_change_the_build_key_when_a_pin_changes(tmp_path: Path) -> None:
    modules = make_modules(tmp_path)
    before = build.build_key(modules, "go1.26.8")

    (modules / "kwok" / "go.mod").write_text("module kwok\nrequire x v2\n")

    assert build.build_key(modules, "go1.26.8") != before


def test_should_change_the_build_key_with_the_go_version(tmp_path: Path) -> None:
    modules = make_modules(tmp_path)

    assert build.build_key(modules, "go1.26.8") != build.build_key(modules, "go1.27.0")


def test_should_stamp_the_kubernetes_version_into_kube_binaries_only() -> None:
    assert "gitVersion=v1.35.4" in build.ldflags("kube-apiserver")
    assert "gitVersion" not in build.ldflags("etcd")


def test_should_name_go_and_the_fix_when_go_is_missing(tmp_path: Path) -> None:
    with pytest.raises(LlmopsError) as err:
        build.go_version({"PATH": str(tmp_path)})

    assert err.value.piece == "go"
    assert "go.dev/dl" in err.value.fix


def test_should_refuse_an_old_go(tmp_path: Path) -> None:
    fake = tmp_path / "go"
    fake.write_text("#!/bin/sh\necho go version go1.19.8 linux/amd64\n")
    fake.chmod(0o755)

    with pytest.raises(LlmopsError, match=r"older than go1\.26"):
        build.go_version({"PATH": str(tmp_path)})


def test_should_treat_a_build_without_marker_as_incomplete(tmp_path: Path) -> None:
    binaries = build.ControlPlaneBinaries(tmp_path)
    binaries.bin_dir.mkdir()
    for name in build.BINARIES:
        binaries.path(name).write_text("")

    assert not binaries.is_complete()
    binaries.marker.write_text("{}")
    assert binaries.is_complete()
