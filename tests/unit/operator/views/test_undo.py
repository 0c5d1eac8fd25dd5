"""`kubectl llmops undo`: what it writes and what it prints (the plugin with a fake API)."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from llmops_operator import plugin
from llmops_operator.core.state.phases import Phase
from llmops_operator.core.state.status import RolloutStatus
from llmops_operator.views.status_text import apply_merge_patch, build_undo_patch, undo_diff_lines
from tests.unit.operator.sim import deployed, make_spec, with_revision


def promoted_twice() -> dict[str, Any]:
    """A ModelDeployment whose revision 2 replaced revision 1, as the API server returns it."""
    world = deployed(make_spec())
    world.spec = with_revision(world.spec, "2")
    world.tick(1)
    world.make_ready()
    world.tick(1, command="promote-full:1")
    world.tick(1)
    world.make_ready()
    world.tick(1)
    assert world.status.phase is Phase.SUCCEEDED
    spec = world.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {"metadata": {"name": "chat"}, "spec": spec, "status": world.status.to_raw()}


def test_should_apply_a_merge_patch_as_the_api_server_does() -> None:
    target = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1]}

    assert apply_merge_patch(target, {"a": None, "b": {"c": 5}, "e": [2], "f": {"g": None}}) == {
        "b": {"c": 5, "d": 3},
        "e": [2],
        "f": {},
    }


def test_should_show_what_undo_changes_as_a_yaml_diff() -> None:
    md = promoted_twice()
    patch = build_undo_patch(RolloutStatus.from_raw(md["status"]), None, md["spec"])

    diff = undo_diff_lines(md["spec"], patch)

    assert diff[:2] == ["--- spec (now)", "+++ spec (undone)"]
    changed = [line for line in diff[2:] if line[:1] in "+-"]
    assert changed == ["-  revision: '2'", "+  revision: '1'"]
    assert not any("None" in line or "null" in line for line in diff)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The plugin's API calls against one stored ModelDeployment; the patches it sends."""
    md, patches = promoted_twice(), []
    monkeypatch.setattr(plugin, "_api", lambda namespace: (None, namespace or "default"))
    monkeypatch.setattr(plugin, "_get", lambda _api, _ns, _name: md)

    def patch(_api: Any, _ns: str, _name: str, body: dict[str, Any]) -> None:
        patches.append(body)
        md["spec"] = apply_merge_patch(md["spec"], body.get("spec"))

    monkeypatch.setattr(plugin, "_patch", patch)
    return patches


def test_should_print_the_revision_and_the_diff_and_ask_for_an_undo_event(
    api: list[dict[str, Any]],
) -> None:
    result = CliRunner().invoke(plugin.app, ["undo", "chat", "-n", "ns"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("modeldeployment ns/chat: spec set back to revision 1 (")
    assert "-  revision: '2'" in lines and "+  revision: '1'" in lines
    assert "'mlflow'" not in result.output and "None" not in result.output
    (sent,) = api
    assert sent["metadata"]["annotations"]["llmops.dev/command"].startswith("undo:")


def test_should_write_nothing_when_the_spec_already_is_that_revision(
    api: list[dict[str, Any]],
) -> None:
    runner = CliRunner()
    assert runner.invoke(plugin.app, ["undo", "chat", "-n", "ns"]).exit_code == 0
    # the stored status still names revision 2 as stable: the same undo again changes nothing
    again = runner.invoke(plugin.app, ["undo", "chat", "-n", "ns"])

    assert again.exit_code == 0
    assert again.output.startswith("modeldeployment ns/chat: spec already is revision 1 (")
    assert len(api) == 1
