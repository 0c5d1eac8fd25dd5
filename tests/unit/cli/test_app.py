"""The `llmops` command: readable help, one-line errors, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.app import main


def run(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr("sys.argv", ["llmops", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    return int(exit_.value.code or 0)


def test_should_list_every_command_group_in_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(monkeypatch, "--help")

    out = capsys.readouterr().out
    assert code == 0
    for group in ("cluster", "engine", "tools", "doctor", "gateway", "loadtest", "bench"):
        assert group in out


def test_should_print_one_line_and_exit_2_on_a_user_mistake(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("LLMOPS_CACHE_DIR", str(tmp_path))

    code = run(monkeypatch, "cluster", "kubeconfig", "--as-service-account", "no-slash")

    err = capsys.readouterr().err
    assert code == 2
    assert "--as-service-account: 'no-slash' is not NAMESPACE/NAME" in err
    assert "Traceback" not in err


def test_should_tell_how_to_start_the_cluster_when_there_is_no_kubeconfig(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("LLMOPS_CACHE_DIR", str(tmp_path))

    code = run(monkeypatch, "cluster", "kubeconfig")

    assert code == 2
    assert "llmops cluster up" in capsys.readouterr().err
