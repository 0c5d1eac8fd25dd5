"""helm-docs style READMEs: each chart's values table, generated from its `# --` comments.

A key of ``values.yaml`` is documented by a comment block directly above it (no blank line in
between) whose last ``# --`` line starts the description; the ``#`` lines after it, up to the
key, continue it. That is the helm-docs convention::

    image:
      # -- Image of the engine. Continued
      # on the next line.
      repository: vllm/vllm-openai

Rows of the table (dotted key, type, default, description):

- a documented key is a row; its default is its whole value, as compact JSON;
- the keys inside a documented mapping are covered by it (its default shows them) and are
  rows only when they are documented themselves;
- any other leaf (a scalar, a list or an empty mapping) is a row without a description, and is
  reported in ``ValuesDoc.undocumented``; an undocumented non-empty mapping is only a parent.

The type is the one ``values.schema.json`` declares for the key (``type``, ``enum``, ``const``,
``anyOf``/``oneOf``, local ``$ref``), else the value's own. ``render_readme`` puts the
generated part between ``<!-- values:start -->`` and ``<!-- values:end -->``: a README with
hand-written prose keeps everything outside the markers.

Everything here but ``load_chart`` is pure: text in, text out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llmops_infra.errors import LlmopsError

START_MARKER = "<!-- values:start -->"
END_MARKER = "<!-- values:end -->"
FIX_COMMAND = "llmops charts docs"
README = "README.md"

_DOC_START = re.compile(r"^#\s*--(?:\s+|$)")
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_TYPE_NAMES = {
    "boolean": "bool",
    "integer": "int",
    "number": "float",
    "string": "string",
    "array": "list",
    "object": "object",
    "null": "null",
}
_MAX_REFS = 32


@dataclass(frozen=True)
class ValueRow:
    """One row of the values table; ``line`` is the key's line in values.yaml (from 1)."""

    key: str
    type: str
    default: str
    description: str
    line: int


@dataclass(frozen=True)
class ValuesDoc:
    rows: tuple[ValueRow, ...]
    undocumented: tuple[ValueRow, ...]


@dataclass(frozen=True)
class ChartSources:
    """The files one chart's README is generated from, and the README as it is now."""

    directory: Path
    chart_yaml: str
    values_yaml: str
    schema_json: str | None
    readme: str | None

    @property
    def readme_path(self) -> Path:
        return self.directory / README


def parse_values(values_yaml: str, schema: Mapping[str, Any] | None = None) -> ValuesDoc:
    """The rows of a values.yaml, in file order, with the keys nobody documented."""
    root = yaml.compose(values_yaml, Loader=yaml.SafeLoader)
    data = yaml.safe_load(values_yaml)
    if root is None:
        return ValuesDoc((), ())
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        raise ValueError("values.yaml must be a mapping")
    walk = _Walk(values_yaml.splitlines(), schema or {})
    walk.mapping(root, data, (), schema or {}, covered=False)
    return ValuesDoc(tuple(walk.rows), tuple(walk.undocumented))


class _Walk:
    def __init__(self, lines: list[str], schema_root: Mapping[str, Any]) -> None:
        self.lines = lines
        self.schema_root = schema_root
        self.rows: list[ValueRow] = []
        self.undocumented: list[ValueRow] = []

    def mapping(
        self,
        node: yaml.MappingNode,
        data: Mapping[str, Any],
        path: tuple[str, ...],
        schema: Mapping[str, Any] | None,
        *,
        covered: bool,
    ) -> None:
        for key_node, value_node in node.value:
            key = str(key_node.value)
            value = data[key]
            line = key_node.start_mark.line
            description = comment_description(self.lines, line)
            child_schema = _child_schema(schema, key, self.schema_root)
            nested = isinstance(value_node, yaml.MappingNode) and isinstance(value, dict)
            if description or (not covered and not (nested and value)):
                row = ValueRow(
                    key=format_key((*path, key)),
                    type=self.type_of(child_schema, value),
                    default=format_default(value),
                    description=description or "",
                    line=line + 1,
                )
                self.rows.append(row)
                if not description:
                    self.undocumented.append(row)
            if nested:
                self.mapping(
                    value_node,
                    value,
                    (*path, key),
                    child_schema,
                    covered=covered or bool(description),
                )

    def type_of(self, schema: Mapping[str, Any] | None, value: Any) -> str:
        types = schema_types(schema, self.schema_root) if schema is not None else None
        return format_types(types or [_json_type(value)])


def comment_description(lines: list[str], key_line: int) -> str | None:
    """The `# --` description directly above line ``key_line`` (from 0), or None."""
    first = key_line
    while first > 0 and lines[first - 1].lstrip().startswith("#"):
        first -= 1
    block = [line.strip() for line in lines[first:key_line]]
    starts = [i for i, text in enumerate(block) if _DOC_START.match(text)]
    if not starts:
        return None
    head, *rest = block[starts[-1] :]
    parts = [_DOC_START.sub("", head, count=1), *(text[1:] for text in rest)]
    return " ".join(part.strip() for part in parts if part.strip())


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    for _ in range(_MAX_REFS):
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return node
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        node = target if isinstance(target, Mapping) else {}
    return node


def _child_schema(
    schema: Mapping[str, Any] | None, key: str, root: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """The schema the parent declares for ``key`` (only ``properties`` declare a key)."""
    if schema is None:
        return None
    child = _resolve(schema, root).get("properties", {}).get(key)
    return child if isinstance(child, Mapping) else None


def schema_types(schema: Mapping[str, Any], root: Mapping[str, Any]) -> list[str] | None:
    """JSON Schema type names a (sub)schema allows, or None when it does not say."""
    node = _resolve(schema, root)
    declared = node.get("type")
    if isinstance(declared, str | list) and declared:
        return [declared] if isinstance(declared, str) else [str(t) for t in declared]
    if "const" in node or node.get("enum"):
        allowed = node["enum"] if node.get("enum") else [node["const"]]
        return _unique(_json_type(v) for v in allowed)
    branches = node.get("anyOf", node.get("oneOf"))
    if not isinstance(branches, list) or not branches:
        return None
    found = [schema_types(b, root) if isinstance(b, Mapping) else None for b in branches]
    if any(types is None for types in found):
        return None  # a branch of unknown type: say nothing rather than half
    return _unique(t for types in found for t in types or [])


_PYTHON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),  # before int: a bool is an int
    (int, "integer"),
    (float, "number"),
    (list, "array"),
    (dict, "object"),
)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return next((name for kind, name in _PYTHON_TYPES if isinstance(value, kind)), "string")


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def format_types(types: list[str]) -> str:
    """helm-docs type names, null last: ``["null", "integer"]`` -> ``int or null``."""
    names = _unique(_TYPE_NAMES.get(t, t) for t in types)
    return " or ".join(sorted(names, key=lambda name: name == "null"))


def format_key(path: Iterable[str]) -> str:
    """Dotted path; a part that is not a plain name is quoted: ``labels."app.io/name"``."""
    return ".".join(p if _PLAIN_KEY.match(p) else json.dumps(p) for p in path)


def format_default(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{_cell(text)}{pad}{fence}"


def render_values_table(rows: Iterable[ValueRow]) -> str:
    lines = ["| Key | Type | Default | Description |", "|-----|------|---------|-------------|"]
    lines += [
        f"| {_code(r.key)} | {_cell(r.type)} | {_code(r.default)} | {_cell(r.description)} |"
        for r in rows
    ]
    return "\n".join(lines)


def render_section(chart: Mapping[str, Any], doc: ValuesDoc) -> str:
    """The generated part of a README (without the markers): chart header and values table."""
    parts = [f"# {chart.get('name', '')}"]
    if chart.get("description"):
        parts.append(str(chart["description"]))
    facts = [
        f"**{label}:** `{chart[field]}`"
        for label, field in (
            ("Version", "version"),
            ("Type", "type"),
            ("AppVersion", "appVersion"),
            ("Kubernetes", "kubeVersion"),
        )
        if chart.get(field)
    ]
    if facts:
        parts.append(", ".join(facts))
    dependencies = chart.get("dependencies") or []
    if dependencies:
        table = [
            "| Repository | Name | Version | Condition |",
            "|------------|------|---------|-----------|",
        ]
        table += [
            f"| {_cell(str(d.get('repository', '')))} | {_cell(str(d.get('name', '')))} "
            f"| {_cell(str(d.get('version', '')))} | {_cell(str(d.get('condition', '')))} |"
            for d in dependencies
        ]
        parts += ["## Requirements", "\n".join(table)]
    parts += ["## Values", render_values_table(doc.rows)]
    notice = (
        f"<!-- Generated by `{FIX_COMMAND}` from Chart.yaml, values.yaml and "
        "values.schema.json; edit those, not this part. -->"
    )
    return "\n\n".join([notice, *parts])


def splice_readme(existing: str | None, section: str, name: str = README) -> str:
    """``existing`` with the part between the markers replaced by ``section``.

    No README yet: the section alone. A README without markers: the section on top, the
    prose below it unchanged.
    """
    block = f"{START_MARKER}\n{section}\n{END_MARKER}"
    if existing is None or not existing.strip():
        return block + "\n"
    starts, ends = existing.count(START_MARKER), existing.count(END_MARKER)
    if starts == ends == 0:
        return f"{block}\n\n{existing}"
    start, end = existing.find(START_MARKER), existing.find(END_MARKER)
    if starts != 1 or ends != 1 or end < start:
        raise LlmopsError(
            name,
            f"needs exactly one {START_MARKER} followed by one {END_MARKER}",
            "fix the markers by hand, then run `llmops charts docs`",
        )
    return existing[:start] + block + existing[end + len(END_MARKER) :]


def load_chart(directory: Path) -> ChartSources:
    """Read one chart's Chart.yaml, values.yaml, values.schema.json and README."""
    schema = directory / "values.schema.json"
    readme = directory / README
    return ChartSources(
        directory=directory,
        chart_yaml=(directory / "Chart.yaml").read_text(),
        values_yaml=(directory / "values.yaml").read_text(),
        schema_json=schema.read_text() if schema.is_file() else None,
        readme=readme.read_text() if readme.is_file() else None,
    )


def chart_doc(sources: ChartSources) -> ValuesDoc:
    schema = json.loads(sources.schema_json) if sources.schema_json else None
    return parse_values(sources.values_yaml, schema)


def render_readme(sources: ChartSources) -> str:
    """The README the chart should have: its current prose, a fresh generated part."""
    chart = yaml.safe_load(sources.chart_yaml) or {}
    section = render_section(chart, chart_doc(sources))
    return splice_readme(sources.readme, section, str(sources.readme_path))


def chart_dirs(charts_dir: Path) -> list[Path]:
    """Every chart (a folder with a Chart.yaml and a values.yaml) under ``charts_dir``."""
    return sorted(
        p.parent for p in charts_dir.glob("*/Chart.yaml") if (p.parent / "values.yaml").is_file()
    )
