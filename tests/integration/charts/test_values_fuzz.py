"""Fuzzed chart values: one thing wrong somewhere in a chart's values, and the real helm
(``helm template``, no cluster) refuses them with a message naming the field.

The places come from each chart's own ``values.schema.json`` (every typed property, every
bound, every enum, every closed object); hypothesis picks a place and a wrong value for it: a
value of another type, one just past a bound, a word outside an enum, or an unknown key in a
closed object. The refusal must name the path (``/limits/maxConcurrentRequests``), or for an
unknown key the key itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmops_infra.charts import CHARTS_DIR
from tests.integration.charts.render import Charts

CHARTS = ("rag-gateway", "llm-inference", "milvus", "mlflow", "llmops-operator")
EXAMPLES_PER_CHART = 60  # about 50 ms each with helm template
# Text a values file holds: no control characters; and within the BMP, because the values
# go to helm as JSON, whose escapes of astral characters (surrogate pairs) helm's YAML
# parser refuses before any schema is read.
TEXT = st.text(
    st.characters(codec="utf-8", max_codepoint=0xFFFF, exclude_categories=["Cc", "Cs"]),
    max_size=5,
)
WRONG_TYPES: dict[str, st.SearchStrategy[Any]] = {
    "string": st.one_of(st.integers(), st.booleans(), st.lists(st.integers(), max_size=2)),
    "integer": st.one_of(TEXT, st.booleans(), st.just(1.5)),
    "number": st.one_of(TEXT, st.booleans()),
    "boolean": st.one_of(TEXT, st.integers()),
    "object": st.one_of(TEXT, st.integers(), st.lists(st.integers(), max_size=2)),
    "array": st.one_of(TEXT, st.integers()),
}


@dataclass(frozen=True)
class Site:
    path: tuple[str, ...]
    schema: dict[str, Any]


def sites(schema: dict[str, Any], root: dict[str, Any], path: tuple[str, ...] = ()) -> list[Site]:
    """Every property reachable through objects (arrays and free-form maps are not entered)."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/definitions/")
        schema = {**root["definitions"][name], **{k: v for k, v in schema.items() if k != "$ref"}}
    found = [Site(path, schema)] if path else []
    for name, child in schema.get("properties", {}).items():
        found.extend(sites(child, root, (*path, name)))
    return found


def types_of(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    return [kind] if isinstance(kind, str) else list(kind or [])


@st.composite
def mistakes(draw: st.DrawFn, site: Site) -> tuple[Any, str] | None:
    """A wrong value for the site and the word the refusal must contain; None if the schema
    says too little there to be wrong (an untyped, unbounded property)."""
    schema, kinds = site.schema, types_of(site.schema)
    options = []
    wrong = [WRONG_TYPES[k] for k in WRONG_TYPES if k not in kinds and kinds and k != "number"]
    if "integer" in kinds and "number" not in kinds:
        wrong.append(st.just(0.5))
    if kinds and "null" not in kinds:
        options.append("type")
    if "minimum" in schema and ("integer" in kinds or "number" in kinds):
        options.append("minimum")
    if "enum" in schema:
        options.append("enum")
    if schema.get("additionalProperties") is False:
        options.append("unknown")
    if not options:
        return None
    how = draw(st.sampled_from(options))
    where = "/" + "/".join(site.path)
    if how == "type":
        # Any other JSON type; a whole number where a number is wanted would be right.
        candidates = [s for s in wrong if s is not None]
        return draw(st.one_of(candidates).filter(lambda v: not _fits(v, kinds))), where
    if how == "minimum":
        low = schema["minimum"]
        step = 1 if "integer" in kinds else 0.5
        return low - draw(st.integers(1, 1000)) * step, where
    if how == "enum":
        word = draw(TEXT.filter(lambda w: bool(w) and w not in schema["enum"]))
        return word, where
    key = "zz" + draw(st.text("abcdefgh", min_size=1, max_size=6))
    return {key: 1}, key


def _fits(value: Any, kinds: list[str]) -> bool:
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
    }
    return any(checks[k](value) for k in kinds if k in checks)


def nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    for name in reversed(path):
        value = {name: value}
    assert isinstance(value, dict)
    return value


@pytest.mark.parametrize("chart", CHARTS)
def test_should_refuse_fuzzed_values_naming_the_field(charts: Charts, chart: str) -> None:
    root = json.loads((CHARTS_DIR / chart / "values.schema.json").read_text())
    places = [site for site in sites(root, root) if site.schema.get("type")]
    assert len(places) > 10, chart
    tried: list[str] = []
    misses: list[str] = []

    @settings(
        max_examples=EXAMPLES_PER_CHART,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        site = data.draw(st.sampled_from(places))
        mistake = data.draw(mistakes(site))
        if mistake is None:
            return
        value, word = mistake
        values = nested(site.path, value)
        tried.append(json.dumps(values))
        try:
            message = charts.error(chart, values)
        except AssertionError:
            misses.append(f"accepted: {json.dumps(values)}")
            return
        if word not in message:
            misses.append(f"{json.dumps(values)}: {word!r} not in {message[-300:]!r}")

    run()

    assert len(tried) >= EXAMPLES_PER_CHART // 2, (chart, len(tried))
    assert misses == [], "\n".join(misses[:15])
