"""The ModelDeployment CRD's `spec` schema and the operator's `ModelDeploymentSpec` agree.

Both are written by hand. A field the model has but the CRD does not is pruned by the API
server before the operator sees it; a field the CRD has but the model does not is refused by
the model's ``extra="forbid"``. So both are walked side by side: the CRD's
``openAPIV3Schema.properties.spec`` and ``ModelDeploymentSpec.model_json_schema(by_alias=True)``
(``$ref`` into ``$defs`` resolved, ``anyOf [X, null]`` of an optional field read as X).

At every level: the property names, the type, enum vs Literal values, the required names, and
default, minimum/maximum (inclusive or exclusive), minLength/maxLength, pattern and
minItems/maxItems where both sides state one. Where the CRD passes a Kubernetes object through
(``x-kubernetes-preserve-unknown-fields``), the model must take a free-form dict there.

Every property under ``spec`` has a description (what ``kubectl explain`` shows), and it is
the model's ``Field(description=...)`` word for word: the model is the one source of the text.

Paths are dotted from ``spec``; ``[]`` is an array's items (``spec.engine.extraEnv[].name``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from llmops_operator.core.spec.schema import ModelDeploymentSpec

CRD = Path(__file__).parents[3] / "charts/llmops-operator/crds/modeldeployments.llmops.dev.yaml"

Schema = dict[str, Any]

# Compared as they are where both sides state one. Bounds are compared as (value, exclusive)
# instead (see `_bound`): Kubernetes writes ``minimum: 0, exclusiveMinimum: true``, pydantic's
# ``gt=0`` writes ``exclusiveMinimum: 0``.
_CONSTRAINTS = ("minLength", "maxLength", "pattern", "minItems", "maxItems")


def crd_spec() -> Schema:
    crd = yaml.safe_load(CRD.read_text())
    (version,) = crd["spec"]["versions"]
    spec: Schema = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return spec


def model_spec() -> tuple[Schema, Schema]:
    """The model's JSON schema (camelCase) and its ``$defs``."""
    schema = ModelDeploymentSpec.model_json_schema(by_alias=True)
    return schema, schema.get("$defs", {})


def resolve(node: Schema, defs: Schema) -> Schema:
    """``node`` with its ``$ref`` followed and an optional field's ``anyOf [X, null]`` read as X.

    Keys beside the ``$ref``/``anyOf`` (``default``, ``description``) are kept. A union of two
    non-null types stays an ``anyOf`` (and no CRD type matches it).
    """
    while True:
        if "$ref" in node:
            target = defs[node["$ref"].removeprefix("#/$defs/")]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            continue
        branches = [b for b in node.get("anyOf", ()) if b != {"type": "null"}]
        if len(branches) == 1:
            node = {**branches[0], **{k: v for k, v in node.items() if k != "anyOf"}}
            if node.get("default", "") is None:
                del node["default"]  # an optional field's None is "not set", not a default
            continue
        return node


def _same(left: Any, right: Any) -> bool:
    """Equal as JSON values (``False != 0``, ``1 == 1.0``)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(_same, left, right))
    return bool(left == right)


def _free_form(model: Schema) -> bool:
    """A ``dict[str, Any]``, or a tuple of them: what a pass-through Kubernetes object is."""
    if model.get("type") == "array":
        return _free_form(model.get("items", {}))
    return model.get("type") == "object" and "properties" not in model


def _bound(node: Schema, side: str, *, crd: bool) -> tuple[float, bool] | None:
    """``(value, exclusive)`` of the ``side`` ("Minimum" or "Maximum") bound, if one is set."""
    inclusive, exclusive = node.get(side.lower()), node.get(f"exclusive{side}")
    if crd:  # OpenAPI v3.0: a boolean beside minimum/maximum
        return None if inclusive is None else (inclusive, exclusive is True)
    if exclusive is not None:
        return (exclusive, True)
    return None if inclusive is None else (inclusive, False)


def _scalar_mismatches(crd: Schema, model: Schema, path: str) -> list[str]:
    """Enum, default and constraint mismatches of one node (where both sides state them)."""
    found: list[str] = []
    # A Literal of one value is a ``const`` in the model's schema.
    model_enum = model.get("enum", [model["const"]] if "const" in model else None)
    crd_enum = crd.get("enum")
    if (crd_enum is None) != (model_enum is None) or set(crd_enum or ()) != set(model_enum or ()):
        found.append(f"{path}: enum {crd_enum} in the CRD, {model_enum} in the model")
    if "default" in crd and "default" in model and not _same(crd["default"], model["default"]):
        found.append(
            f"{path}: default {crd['default']!r} in the CRD, {model['default']!r} in the model"
        )
    for side in ("Minimum", "Maximum"):
        crd_bound, model_bound = _bound(crd, side, crd=True), _bound(model, side, crd=False)
        if crd_bound and model_bound and not _same(list(crd_bound), list(model_bound)):
            found.append(
                f"{path}: {side.lower()} (value, exclusive) {crd_bound} in the CRD, "
                f"{model_bound} in the model"
            )
    for key in _CONSTRAINTS:
        if key in crd and key in model and not _same(crd[key], model[key]):
            found.append(f"{path}: {key} {crd[key]!r} in the CRD, {model[key]!r} in the model")
    return found


def _object_mismatches(crd: Schema, model: Schema, path: str, defs: Schema) -> list[str]:
    """Property names, required names and each property of an object node."""
    crd_props: Schema = crd.get("properties", {})
    model_props: Schema = model.get("properties", {})
    found = [
        f"{path}.{name}: in the model, not in the CRD"
        for name in model_props.keys() - crd_props.keys()
    ]
    found += [
        f"{path}.{name}: in the CRD, not in the model"
        for name in crd_props.keys() - model_props.keys()
    ]
    crd_required, model_required = set(crd.get("required", ())), set(model.get("required", ()))
    found += [
        f"{path}.{name}: required in the CRD, not in the model"
        for name in crd_required - model_required
    ]
    found += [
        f"{path}.{name}: required in the model, not in the CRD"
        for name in model_required - crd_required
    ]
    for name in crd_props.keys() & model_props.keys():
        found += mismatches(crd_props[name], model_props[name], f"{path}.{name}", defs)
    crd_values, model_values = crd.get("additionalProperties"), model.get("additionalProperties")
    if isinstance(crd_values, dict):  # a map (nodeSelector): the model's values must match
        if isinstance(model_values, dict):
            found += mismatches(crd_values, model_values, f"{path}.*", defs)
        else:
            found.append(f"{path}: a map of {crd_values.get('type')} in the CRD, not in the model")
    elif not crd_props and _free_form(model) and model_values is not False:
        found.append(f"{path}: a free-form dict in the model; the CRD prunes all of it")
    return found


def mismatches(crd: Schema, model: Schema, path: str, defs: Schema) -> list[str]:
    """Every way ``crd`` and ``model`` (a node of the model's JSON schema) disagree."""
    model = resolve(model, defs)
    crd_type, model_type = crd.get("type"), model.get("type")
    if crd_type != model_type:
        return [f"{path}: type {crd_type} in the CRD, {model_type or model} in the model"]
    found = _scalar_mismatches(crd, model, path)
    if crd.get("x-kubernetes-preserve-unknown-fields"):
        if not _free_form(model):
            found.append(f"{path}: passed through by the CRD, typed by the model")
        return found
    if crd_type == "object":
        found += _object_mismatches(crd, model, path, defs)
    elif crd_type == "array":
        found += mismatches(crd.get("items", {}), model.get("items", {}), f"{path}[]", defs)
    return found


def undescribed(crd: Schema, path: str) -> list[str]:
    """The properties under ``crd`` (and its array items) that have no description."""
    found: list[str] = []
    for name, child in crd.get("properties", {}).items():
        if not str(child.get("description", "")).strip():
            found.append(f"{path}.{name}")
        found += undescribed(child, f"{path}.{name}")
    if isinstance(crd.get("items"), dict):
        found += undescribed(crd["items"], f"{path}[]")
    return found


def _words(text: Any) -> str:
    return " ".join(str(text or "").split())


def description_mismatches(crd: Schema, model: Schema, path: str, defs: Schema) -> list[str]:
    """Properties whose CRD description is not the model's ``Field(description=...)``: the
    model is the one source of the text (`kubectl explain` shows the CRD's copy of it)."""
    model = resolve(model, defs)
    found: list[str] = []
    model_props: Schema = model.get("properties", {})
    for name, child in crd.get("properties", {}).items():
        if name not in model_props:
            continue  # `mismatches` reports it
        want = _words(resolve(model_props[name], defs).get("description"))
        have = _words(child.get("description"))
        if not want:
            found.append(f"{path}.{name}: no description in the model (Field(description=...))")
        elif have != want:
            found.append(f"{path}.{name}: the CRD should say {want!r}, it says {have!r}")
        found += description_mismatches(child, model_props[name], f"{path}.{name}", defs)
    if isinstance(crd.get("items"), dict):
        items = crd["items"]
        found += description_mismatches(items, model.get("items", {}), f"{path}[]", defs)
    return found


def test_should_describe_the_same_spec_in_the_crd_and_the_model() -> None:
    schema, defs = model_spec()

    assert sorted(mismatches(crd_spec(), schema, "spec", defs)) == []


def test_should_describe_every_spec_field_for_kubectl_explain() -> None:
    assert undescribed(crd_spec(), "spec") == []


def test_should_describe_each_field_in_the_crd_as_the_model_does() -> None:
    schema, defs = model_spec()

    assert description_mismatches(crd_spec(), schema, "spec", defs) == []


def test_should_see_a_field_without_a_description_or_with_another_one() -> None:
    schema, defs = model_spec()
    crd = crd_spec()
    engine = crd["properties"]["engine"]
    image = {k: v for k, v in engine["properties"]["image"].items() if k != "description"}
    replicas = {**engine["properties"]["replicas"], "description": "How many."}
    changed_engine = {
        **engine,
        "properties": {**engine["properties"], "image": image, "replicas": replicas},
    }
    changed = {**crd, "properties": {**crd["properties"], "engine": changed_engine}}

    assert undescribed(changed, "spec") == ["spec.engine.image"]
    found = description_mismatches(changed, schema, "spec", defs)
    assert [line.split(":")[0] for line in found] == ["spec.engine.image", "spec.engine.replicas"]


def test_should_see_a_field_missing_on_either_side() -> None:
    schema, defs = model_spec()
    crd = crd_spec()
    engine = crd["properties"]["engine"]
    shrunk = {**crd, "properties": {**crd["properties"], "engine": {**engine, "properties": {}}}}
    grown_engine = {**engine, "properties": {**engine["properties"], "flavour": {"type": "string"}}}
    grown = {**crd, "properties": {**crd["properties"], "engine": grown_engine}}

    assert "spec.engine.image: in the model, not in the CRD" in mismatches(
        shrunk, schema, "spec", defs
    )
    assert mismatches(grown, schema, "spec", defs) == [
        "spec.engine.flavour: in the CRD, not in the model"
    ]


def test_should_see_a_type_enum_default_bound_or_required_that_differs() -> None:
    crd: Schema = {
        "type": "object",
        "required": ["a"],
        "properties": {
            "a": {"type": "integer", "minimum": 2, "default": 3},
            "b": {"type": "string", "enum": ["x", "y"]},
            "c": {"type": "number", "minimum": 0.001},
            "d": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "e": {"type": "string", "enum": ["z"]},
        },
    }
    model: Schema = {
        "type": "object",
        "required": ["b"],
        "properties": {
            "a": {"type": "integer", "minimum": 1, "default": 3},
            "b": {"anyOf": [{"$ref": "#/$defs/B"}, {"type": "null"}], "default": None},
            "c": {"type": "number", "exclusiveMinimum": 0},
            "d": {"$ref": "#/$defs/D"},
            "e": {"type": "string", "const": "z"},
        },
    }
    defs: Schema = {
        "B": {"type": "string", "enum": ["x"]},
        "D": {"type": "object", "properties": {"e": {"type": "string"}}},
    }

    assert sorted(mismatches(crd, model, "spec", defs)) == [
        "spec.a: minimum (value, exclusive) (2, False) in the CRD, (1, False) in the model",
        "spec.a: required in the CRD, not in the model",
        "spec.b: enum ['x', 'y'] in the CRD, ['x'] in the model",
        "spec.b: required in the model, not in the CRD",
        "spec.c: minimum (value, exclusive) (0.001, False) in the CRD, (0, True) in the model",
        "spec.d: passed through by the CRD, typed by the model",
    ]


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a mapping with a key twice (PyYAML keeps the last one
    silently; a strict decoder, such as the API server's, refuses the document)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        assert key not in seen, (
            f"line {key_node.start_mark.line + 1}: {key!r} again (first at line {seen[key]})"
        )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def test_no_mapping_of_the_crd_states_a_key_twice() -> None:
    assert yaml.load(CRD.read_text(), Loader=_UniqueKeyLoader)["kind"] == "CustomResourceDefinition"  # noqa: S506 (a SafeLoader)
