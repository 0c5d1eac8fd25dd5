"""The hand-written pages name only what exists: chart values, commands, CRD fields, examples.

The generated reference pages cannot go stale (they are made at every build); prose can. These
tests read every page under docs/ (runbooks included) for the names it uses (see
`tests.unit.docs.pages` for the conventions) and check each against the sources.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops.docs_site import cli_roots
from llmops_infra.charts import CHARTS_DIR, STACK_CHART, load_crd
from llmops_infra.charts.values import merge_values
from llmops_infra.docs.cli import walk_commands
from llmops_infra.docs.crd import walk_fields
from llmops_operator.core.spec.schema import parse_spec
from tests.unit.docs.pages import (
    STACK_KEYS,
    command_lines,
    field_paths,
    handwritten_pages,
    modeldeployment_examples,
    value_paths,
    values_examples,
)

PAGES = handwritten_pages()
_WORD = re.compile(r"^[a-z][a-z0-9-]*$")


def stack_defaults(charts: Path = CHARTS_DIR) -> dict[str, Any]:
    """The umbrella's values with each subchart's own defaults under its name, as Helm sees them."""
    values: dict[str, Any] = yaml.safe_load((STACK_CHART / "values.yaml").read_text())
    for key in STACK_KEYS:
        sub = charts / key / "values.yaml"
        if sub.is_file():
            values = merge_values({key: yaml.safe_load(sub.read_text())}, values)
    return values


DEFAULTS = stack_defaults()


def is_value(path: str, defaults: Any = DEFAULTS) -> bool:
    """Does the dotted path exist? Below a free-form value (``{}``: labels, resources,
    nodeSelector) any key does."""
    node = defaults
    for part in path.split("."):
        if isinstance(node, dict) and not node:
            return True
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def unknown_keys(values: Any, defaults: Any, path: str = "") -> list[str]:
    """Keys of ``values`` the defaults do not have (structurally: keys may contain dots)."""
    if not isinstance(values, dict) or not isinstance(defaults, dict) or not defaults:
        return []
    found: list[str] = []
    for key, value in values.items():
        if key not in defaults:
            found.append(f"{path}{key}")
        else:
            found += unknown_keys(value, defaults[key], f"{path}{key}.")
    return found


def test_the_value_check_tells_a_real_value_from_a_made_up_one() -> None:
    assert is_value("llm-inference.gpu.resourceName")
    assert is_value("llm-inference.resources.limits")  # resources is free-form
    assert not is_value("llm-inference.gpu.type")
    assert not is_value("rag-gateway.milvus.collection")  # a removed value
    assert unknown_keys({"milvus": {"persistence": {"sise": "1Gi"}}}, DEFAULTS) == [
        "milvus.persistence.sise"
    ]


def test_should_find_the_names_the_pages_use() -> None:
    """The checks below would pass vacuously if the conventions stopped matching."""
    assert len(list(value_paths(PAGES))) > 50
    assert len(list(command_lines(PAGES))) > 10
    assert len(list(field_paths(PAGES))) > 10
    assert len(list(values_examples(PAGES))) >= 1
    assert len(list(modeldeployment_examples(PAGES))) >= 1


def test_should_name_only_chart_values_that_exist() -> None:
    missing = [f"{m.page}: `{m.text}`" for m in value_paths(PAGES) if not is_value(m.text)]

    assert missing == [], "pages name chart values that do not exist"


def test_should_use_only_existing_keys_in_values_examples() -> None:
    unknown = [
        f"{block.page}: {key}"
        for block, values in values_examples(PAGES)
        for key in unknown_keys(values, DEFAULTS)
    ]

    assert unknown == []


def _commands() -> dict[str, bool]:
    """Every command path, and whether it is a group (takes a subcommand)."""
    return {
        doc.path: bool(doc.subcommands)
        for root in cli_roots()
        for doc in walk_commands(root.command, root.prog)
    }


def unknown_command(line: str, commands: dict[str, bool]) -> str | None:
    """The first word that is not a command where the line needs one, or None."""
    prog = next(p for p in sorted(commands, key=len) if line.startswith(f"{p} "))
    path, words = prog, line[len(prog) :].split()
    while commands.get(path) and words:
        word, *words = words
        if not _WORD.match(word):
            return None  # a placeholder (`...`, `NAME`, `[--full]`): nothing more to check
        if f"{path} {word}" not in commands:
            return f"{path} {word}"
        path = f"{path} {word}"
    return None


def test_the_command_check_tells_a_real_command_from_a_made_up_one() -> None:
    commands = _commands()

    assert unknown_command("llmops cluster up", commands) is None
    assert unknown_command("kubectl llmops status chat -w", commands) is None
    assert unknown_command("llmops install -c platform.yaml", commands) is None
    assert unknown_command("llmops cluster start", commands) == "llmops cluster start"
    assert unknown_command("kubectl llmops rollback chat", commands) == "kubectl llmops rollback"


def test_should_name_only_commands_that_exist() -> None:
    commands = _commands()
    wrong = [
        f"{m.page}: `{m.text}` ({bad} is no command)"
        for m in command_lines(PAGES)
        if (bad := unknown_command(m.text, commands))
    ]

    assert wrong == []


def test_should_name_only_modeldeployment_fields_that_exist() -> None:
    """`spec.<x>...` where x is a section of the ModelDeployment spec (or status); other
    resources' fields (a Deployment's `spec.replicas`) are not ModelDeployment fields."""
    crd = load_crd()
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    fields = {f.path for f in walk_fields(schema)}
    sections = {path for path in fields if path.count(".") == 1}
    ours = [m for m in field_paths(PAGES) if ".".join(m.text.split(".")[:2]) in sections]
    missing = [f"{m.page}: `{m.text}`" for m in ours if m.text not in fields]

    assert len(ours) > 10
    assert missing == []


@pytest.mark.parametrize(
    ("page", "example"),
    [(block.page, doc) for block, doc in modeldeployment_examples(PAGES)],
)
def test_should_carry_modeldeployment_examples_the_operator_accepts(
    page: str, example: dict[str, Any]
) -> None:
    parse_spec(example["spec"])  # raises SpecError naming the field
