"""An existing cluster is used only when asked, and only with an allowed context."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops_infra.cluster import resolve_target
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings


def kubeconfig(tmp_path: Path, context: str) -> Path:
    path = tmp_path / "config"
    path.write_text(f"apiVersion: v1\nkind: Config\ncurrent-context: {context}\n")
    return path


def test_should_use_the_local_cluster_by_default(tmp_path: Path) -> None:
    settings = LocalSettings(cache_dir=tmp_path)

    target = resolve_target(settings)

    assert target.local
    assert target.kubeconfig == tmp_path / "clusters" / "llmops" / "admin.kubeconfig"


def test_should_refuse_a_context_that_is_not_allowed(tmp_path: Path) -> None:
    settings = LocalSettings(
        use_existing_cluster=True,
        kubeconfig=kubeconfig(tmp_path, "prod-eu"),
        allowed_contexts=["kind-llmops"],
    )

    with pytest.raises(LlmopsError) as err:
        resolve_target(settings)

    assert "'prod-eu'" in err.value.piece
    assert "LLMOPS_ALLOWED_CONTEXTS=prod-eu" in err.value.fix


def test_should_use_an_allowed_existing_context(tmp_path: Path) -> None:
    settings = LocalSettings(
        use_existing_cluster=True,
        kubeconfig=kubeconfig(tmp_path, "kind-llmops"),
        allowed_contexts=["kind-llmops"],
    )

    target = resolve_target(settings)

    assert (target.context, target.local) == ("kind-llmops", False)


def test_should_read_allowed_contexts_from_a_comma_separated_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMOPS_ALLOWED_CONTEXTS", "kind-a, minikube")

    assert LocalSettings().allowed_contexts == ["kind-a", "minikube"]


def test_should_take_kubeconfig_from_the_standard_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "k"))

    assert LocalSettings().kubeconfig == tmp_path / "k"
