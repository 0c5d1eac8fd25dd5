"""`llmops doctor` names what is missing and the command that fixes it."""

from __future__ import annotations

from pathlib import Path

from llmops_infra import doctor
from llmops_infra.settings import LocalSettings


def test_should_ask_for_the_pinned_tools_when_the_tools_folder_is_empty(tmp_path: Path) -> None:
    settings = LocalSettings(tools_dir=tmp_path / "tools", cache_dir=tmp_path / "cache")

    checks = {c.name: c for c in doctor.check_tools(settings, {})}

    assert not checks["helm"].ok
    assert checks["helm"].fix == "llmops tools install"
    assert not checks["kubectl"].ok


def test_should_name_go_and_its_fix_when_go_is_not_on_path(tmp_path: Path) -> None:
    (result,) = doctor.check_go(LocalSettings(), {"PATH": str(tmp_path)})

    assert (result.name, result.ok) == ("go", False)
    assert "go.dev/dl" in result.fix


def test_should_ask_to_build_the_control_plane_when_it_is_not_cached(tmp_path: Path) -> None:
    settings = LocalSettings(cache_dir=tmp_path)
    go = tmp_path / "go"  # a stand-in that only reports a version: nothing is built here
    go.write_text("#!/bin/sh\necho go version go1.26.8 linux/amd64\n")
    go.chmod(0o755)

    (result,) = doctor.check_control_plane(settings, {"PATH": str(tmp_path)})

    assert not result.ok
    assert result.fix == "llmops cluster up"


def test_should_name_each_missing_image_tool_with_its_install_command(tmp_path: Path) -> None:
    checks = {c.name: c for c in doctor.check_image_tools(LocalSettings(), {"PATH": str(tmp_path)})}

    assert not checks["image tool: buildah"].ok
    assert checks["image tool: mmdebstrap"].fix.startswith("apt-get install mmdebstrap")


def test_should_name_a_missing_test_server_with_its_package(tmp_path: Path) -> None:
    checks = {c.name: c for c in doctor.check_test_parts(LocalSettings(), {"PATH": str(tmp_path)})}

    assert not checks["test part: redis-server"].ok
    assert checks["test part: redis-server"].fix.startswith("apt-get install redis-server")


def test_should_say_the_real_node_is_off_rather_than_check_it() -> None:
    (check,) = doctor.check_real_node(LocalSettings(real_node=False), {})

    assert check.ok
    assert "LLMOPS_REAL_NODE=false" in check.detail
