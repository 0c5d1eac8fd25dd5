"""Strict check of a rendered KServe object against the kserve SDK's own model classes.

The SDK's ``ApiClient`` cannot deserialize the Kubernetes types its models nest (kubernetes
>= 37 generates pydantic models that the kserve SDK's deserializer does not know), and it
ignores unknown keys anyway. So this walks the generated classes' ``openapi_types`` (attribute
-> type) and ``attribute_map`` (attribute -> JSON key) itself, from ``V1beta1InferenceService``
down: kserve classes from ``kserve.models``, Kubernetes classes (``V1Container`` ...) from
``kubernetes.client.models``, both the same way. It reports, each with its path:

- a key that the class does not define;
- a value of the wrong JSON type (``str``, ``int``, ``bool``, list, map, object);
- a missing required attribute (the SDK's own setters, or the pydantic field, say which);
- a value the SDK's setters refuse (enums, patterns).

Resource quantities are typed ``str`` by the Python clients, but the API takes numbers too
(``nvidia.com/gpu: 2``), so quantity fields accept both. A type that neither SDK defines is
reported where a value uses it, never skipped.

This file imports nothing outside the standard library at module level: the kserve tool venv
runs it as a script (``python kserve_models.py < objects.json``: a JSON list of objects in,
a JSON list of their problem lists out, exit 1 when there are any), and
`llmops_infra.charts.kserve_check` drives that from the project's venv.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from typing import Any

_QUANTITY = "quantity"
# Names the kserve models use for types that carry another name in the Kubernetes client.
_ALIASES = {
    "K8sIoApiAppsV1DeploymentStrategy": "V1DeploymentStrategy",
    "K8sIoApiAutoscalingV2HorizontalPodAutoscalerBehavior": "V2HorizontalPodAutoscalerBehavior",
    "ResourceQuantity": _QUANTITY,
    "V1beta1MetricQuantity": _QUANTITY,
    "V1Time": "datetime",
}
# Attributes the Python client types `str` (or a map of `str`) that hold resource.Quantity.
_QUANTITY_ATTRIBUTES = {
    ("V1ResourceRequirements", "limits"),
    ("V1ResourceRequirements", "requests"),
    ("V1EmptyDirVolumeSource", "size_limit"),
}
_LIST = re.compile(r"^[lL]ist\[(?P<item>.+)\]$")
_DICT = re.compile(r"^(?:dict\(str, (?P<a>.+)\)|Dict\[str, (?P<b>.+)\])$")
_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "datetime": (str,),
    "date": (str,),
    "bytes": (str,),
    _QUANTITY: (str, int, float),
}


class Models:
    """Resolves a type name to a model class: kserve's first, then the Kubernetes client's."""

    def __init__(self, *modules: Any) -> None:
        self.modules = modules

    @classmethod
    def from_sdks(cls) -> Models:
        return cls(
            importlib.import_module("kserve.models"),
            importlib.import_module("kubernetes.client.models"),
        )

    def resolve(self, name: str) -> type | None:
        for module in self.modules:
            found = getattr(module, name, None)
            if isinstance(found, type) and hasattr(found, "openapi_types"):
                return found
        return None


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "map" if isinstance(value, dict) else type(value).__name__


def _is_required(model: type, attribute: str) -> bool:
    fields = getattr(model, "model_fields", None)  # the Kubernetes client: pydantic models
    if isinstance(fields, dict) and attribute in fields:
        return bool(fields[attribute].is_required())
    return False


def _setter_problems(model: type, data: dict[str, Any], path: str) -> list[str]:
    """What the kserve SDK's generated setters refuse (required attributes, enum values)."""
    if hasattr(model, "model_fields"):
        return []  # pydantic: required attributes come from `_is_required`
    keys = {json_key: attr for attr, json_key in model.attribute_map.items()}  # type: ignore[attr-defined]
    kwargs = {
        keys[key]: value if isinstance(value, (str, int, float, bool)) else object()
        for key, value in data.items()
        if key in keys
    }
    try:
        model(**kwargs)
    except (ValueError, TypeError) as err:
        return [f"{path}: {err}"]
    return []


def check(value: object, type_name: str, models: Models, path: str = "") -> list[str]:
    """Every problem of ``value`` read as ``type_name``, each prefixed with its path."""
    type_name = _ALIASES.get(type_name, type_name)
    if type_name == "object":
        return []
    if type_name in _PRIMITIVES:
        return _check_primitive(value, type_name, path)
    if match := _LIST.match(type_name):
        return _check_list(value, match["item"], models, path)
    if match := _DICT.match(type_name):
        return _check_map(value, match["a"] or match["b"], models, path)
    return _check_named(value, type_name, models, path)


def _check_named(value: object, type_name: str, models: Models, path: str) -> list[str]:
    model = models.resolve(type_name)
    if model is None:
        return [f"{path}: type {type_name} is defined by neither the kserve nor the kubernetes SDK"]
    if not isinstance(value, dict):
        return [f"{path}: expected a {type_name} map, got {_json_type(value)}"]
    return _check_model(value, model, models, path)


def _check_list(value: object, item_type: str, models: Models, path: str) -> list[str]:
    if not isinstance(value, list):
        return [f"{path}: expected a list, got {_json_type(value)}"]
    return [
        problem
        for i, item in enumerate(value)
        for problem in check(item, item_type, models, f"{path}[{i}]")
    ]


def _check_map(value: object, item_type: str, models: Models, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected a map, got {_json_type(value)}"]
    return [
        problem
        for key, item in value.items()
        for problem in check(item, item_type, models, _join(path, key))
    ]


def _check_primitive(value: object, type_name: str, path: str) -> list[str]:
    wrong_bool = isinstance(value, bool) and type_name != "bool"
    if wrong_bool or not isinstance(value, _PRIMITIVES[type_name]):
        return [f"{path}: expected {type_name}, got {_json_type(value)}"]
    return []


def _check_model(data: dict[str, Any], model: type, models: Models, path: str) -> list[str]:
    types: dict[str, str] = model.openapi_types  # type: ignore[attr-defined]
    keys: dict[str, str] = model.attribute_map  # type: ignore[attr-defined]
    by_key = {json_key: attribute for attribute, json_key in keys.items()}
    problems = []
    for key, value in data.items():
        attribute = by_key.get(key)
        if attribute is None:
            problems.append(f"{_join(path, key)}: unknown field of {model.__name__}")
            continue
        type_name = types[attribute]
        if (model.__name__, attribute) in _QUANTITY_ATTRIBUTES:
            type_name = re.sub(r"\bstr\]$|\bstr\)$|^str$", _quote_quantity, type_name)
        problems += check(value, type_name, models, _join(path, key))
    for attribute, key in keys.items():
        if key not in data and _is_required(model, attribute):
            problems.append(f"{_join(path, key)}: required by {model.__name__} but missing")
    if not problems:
        problems += _setter_problems(model, data, path)
    return problems


def _join(path: str, key: str) -> str:
    return key if path in ("", "(top level)") else f"{path}.{key}"


def _quote_quantity(match: re.Match[str]) -> str:
    return match.group(0).replace("str", _QUANTITY)


def check_inference_service(doc: dict[str, Any], models: Models | None = None) -> list[str]:
    """Problems of a rendered ``serving.kserve.io/v1beta1`` InferenceService."""
    return check(doc, "V1beta1InferenceService", models or Models.from_sdks(), "(top level)")


def main() -> int:
    """A JSON list of InferenceServices on stdin -> a JSON list of their problem lists."""
    models = Models.from_sdks()  # seconds: `import kserve` loads its model server too
    problems = [check_inference_service(doc, models) for doc in json.load(sys.stdin)]
    print(json.dumps(problems))  # noqa: T201
    return 1 if any(problems) else 0


if __name__ == "__main__":
    sys.exit(main())
