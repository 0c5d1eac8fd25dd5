"""The CRD reference: every field of a CustomResourceDefinition's ``openAPIV3Schema``.

A field is a property of an object (``spec.engine.replicas``), the items of a list
(``spec.strategy.canary.steps[]``) or the values of a map (``spec.pod.nodeSelector.*``). Each
row says the field's type, whether it is required, its default, the schema's constraints
(enum, bounds, pattern, CEL rules) and its description; a field the schema does not describe
gets none (nothing is made up here). Fields are grouped by their first two levels
(``spec.model``, ``status.loadTest``), one section each.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from llmops_infra.docs.markdown import cell, code, table

_BOUNDS = (
    ("minimum", ">= {}"),
    ("maximum", "<= {}"),
    ("exclusiveMinimum", "> {}"),
    ("exclusiveMaximum", "< {}"),
    ("minLength", "length >= {}"),
    ("maxLength", "length <= {}"),
    ("minItems", "items >= {}"),
    ("maxItems", "items <= {}"),
    ("minProperties", "keys >= {}"),
    ("maxProperties", "keys <= {}"),
)


@dataclass(frozen=True)
class FieldDoc:
    path: str
    type: str
    required: bool
    default: str
    constraints: tuple[str, ...]
    description: str


def schema_type(node: Mapping[str, Any]) -> str:
    """The type as a person reads it: ``string (date-time)``, ``list of object``,
    ``map of string``, ``int or string``, ``object (any fields)``."""
    if node.get("x-kubernetes-int-or-string"):
        return "int or string"
    kind = str(node.get("type", "any"))
    if kind == "integer":
        kind = "int"
    if kind == "boolean":
        kind = "bool"
    if kind == "array":
        items = node.get("items")
        return f"list of {schema_type(items)}" if isinstance(items, Mapping) else "list"
    if kind == "object":
        values = node.get("additionalProperties")
        if isinstance(values, Mapping):
            return f"map of {schema_type(values)}"
        if node.get("x-kubernetes-preserve-unknown-fields") and not node.get("properties"):
            return "object (any fields)"
    if "format" in node:
        return f"{kind} ({node['format']})"
    return kind


def _constraints(node: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    if node.get("enum"):
        found.append("one of " + ", ".join(json.dumps(v) for v in node["enum"]))
    found += [text.format(node[key]) for key, text in _BOUNDS if key in node]
    if "pattern" in node:
        found.append(f"pattern `{node['pattern']}`")
    if node.get("x-kubernetes-list-type"):
        keys = node.get("x-kubernetes-list-map-keys")
        suffix = f" keyed by {', '.join(keys)}" if keys else ""
        found.append(f"list type {node['x-kubernetes-list-type']}{suffix}")
    for rule in node.get("x-kubernetes-validations") or []:
        found.append(f"rule: {rule.get('message') or rule.get('rule')}")
    return tuple(found)


def walk_fields(schema: Mapping[str, Any], prefix: str = "") -> Iterator[FieldDoc]:
    """Every field below an object schema, parents before children, in schema order."""
    required = set(schema.get("required") or [])
    for name, node in (schema.get("properties") or {}).items():
        path = f"{prefix}{name}"
        yield _row(path, node, required=name in required)
        yield from _below(node, path)


def _below(node: Mapping[str, Any], path: str) -> Iterator[FieldDoc]:
    """The fields inside ``node``: its properties, and those of its list items or map values
    (a row of their own only when the items say more than the parent's ``list of`` type)."""
    if node.get("properties"):
        yield from walk_fields(node, f"{path}.")
    for inner, suffix in ((node.get("items"), "[]"), (node.get("additionalProperties"), ".*")):
        if not isinstance(inner, Mapping):
            continue
        if inner.get("description") or _constraints(inner) or "default" in inner:
            yield _row(f"{path}{suffix}", inner, required=False)
        yield from _below(inner, f"{path}{suffix}")


def _row(path: str, node: Mapping[str, Any], *, required: bool) -> FieldDoc:
    return FieldDoc(
        path=path,
        type=schema_type(node),
        required=required,
        default=json.dumps(node["default"]) if "default" in node else "",
        constraints=_constraints(node),
        description=str(node.get("description", "")),
    )


def section_of(path: str) -> str:
    """``spec.engine.autoscaling.kind`` -> ``spec.engine``; ``spec.paused`` -> ``spec``."""
    parts = path.replace("[]", "").split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else parts[0]


def render_field_table(fields: list[FieldDoc]) -> str:
    rows = [
        (
            code(f.path),
            cell(f.type),
            "yes" if f.required else "",
            code(f.default) if f.default else "",
            cell("; ".join(f.constraints)),
            cell(f.description),
        )
        for f in fields
    ]
    return table(("Field", "Type", "Required", "Default", "Constraints", "Description"), rows)


def render_crd_reference(crd: Mapping[str, Any], intro: str = "") -> str:
    """One page: the resource's names, then every field of every served version."""
    spec = crd["spec"]
    names = spec["names"]
    parts = [f"# {names['kind']}"]
    if intro:
        parts.append(intro)
    short = ", ".join(f"`{n}`" for n in names.get("shortNames") or [])
    facts = [
        f"**Group:** `{spec['group']}`",
        f"**Scope:** {spec.get('scope', 'Namespaced')}",
        f"**Plural:** `{names['plural']}`",
    ]
    if short:
        facts.append(f"**Short names:** {short}")
    parts.append(", ".join(facts))
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        schema = version["schema"]["openAPIV3Schema"]
        parts.append(f"## `{spec['group']}/{version['name']}` {{ #{version['name']} }}")
        columns = version.get("additionalPrinterColumns") or []
        if columns:
            rows = [(c["name"], cell(c["type"]), code(c["jsonPath"])) for c in columns]
            parts.append("`kubectl get` columns:\n\n" + table(("Column", "Type", "From"), rows))
        by_section: dict[str, list[FieldDoc]] = {}
        for field in walk_fields(schema):
            if field.path in ("apiVersion", "kind", "metadata"):
                continue
            by_section.setdefault(section_of(field.path), []).append(field)
        for section, fields in by_section.items():
            anchor = f"{version['name']}-{section.replace('.', '-')}".lower()
            parts.append(f"### `{section}` {{ #{anchor} }}")
            parts.append(render_field_table(fields))
    return "\n\n".join(parts) + "\n"
