"""Fuzzed ModelDeployment specs through the operator's pure core: never an exception, always a
readable condition.

Specs are generated from the CRD's own ``openAPIV3Schema`` (so they look like what the API
server admits), then often broken on purpose: a value of the wrong type or out of its range,
a required field dropped, an unknown field added. Held for every one:

- `parse_spec` returns a spec or raises `SpecError` (nothing else) whose message is one line
  naming the field (``spec.<path>: ...``);
- a spec that does not parse, marked with `mark_spec_invalid` on a status in any phase, leaves
  ``SpecValid=False`` with reason ``InvalidSpec`` and that message, and a status that
  serialises and reads back;
- a spec that parses steps through the state machine (`advance`, via the test world) for a
  few ticks with workloads becoming Ready, without an exception, every condition carrying a
  type, a reason and a status, and a Failed phase always explained by a message.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmops_operator.core.rollout.validity import INVALID_SPEC, mark_spec_invalid
from llmops_operator.core.spec.schema import SpecError, parse_spec
from llmops_operator.core.state.phases import ConditionType, Phase
from llmops_operator.core.state.status import RolloutStatus
from tests.unit.operator.sim import T0, World

CRD = Path(__file__).parents[3] / "charts/llmops-operator/crds/modeldeployments.llmops.dev.yaml"
SPEC_SCHEMA: dict[str, Any] = yaml.safe_load(CRD.read_text())["spec"]["versions"][0]["schema"][
    "openAPIV3Schema"
]["properties"]["spec"]
EXAMPLES = 150  # per property; the unit tier stays in seconds
_FIELD = re.compile(r'^spec(\.[A-Za-z0-9_-]+|\["(?:[^"\\]|\\.)*"\])*: \S')

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=12),
)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def number(schema: dict[str, Any], integer: bool) -> st.SearchStrategy[Any]:
    low = schema.get("minimum", 0 if integer else 0.0)
    high = schema.get("maximum", low + (1000 if integer else 1000.0))
    if integer:
        low, high = int(low) + (1 if schema.get("exclusiveMinimum") else 0), int(high)
        return st.integers(low, max(low, high))
    return st.floats(
        float(low),
        float(max(low, high)),
        exclude_min=bool(schema.get("exclusiveMinimum")),
        allow_nan=False,
    )


def valid(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:  # noqa: PLR0911
    """Values as the schema describes them, its "exactly one of" rules included (other
    x-kubernetes-validations aside: a spec breaking one is refused, which is tested too)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if schema.get("x-kubernetes-preserve-unknown-fields") and "properties" not in schema:
        return st.dictionaries(st.text(min_size=1, max_size=6), JSON_SCALARS, max_size=2)
    if kind == "object":
        properties: dict[str, Any] = schema.get("properties", {})
        if not properties:
            values = valid(schema.get("additionalProperties", {"type": "string"}), depth + 1)
            return st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=2)
        required = set(schema.get("required", ()))
        optional = [name for name in properties if name not in required]
        fields = st.fixed_dictionaries(
            {name: valid(properties[name], depth + 1) for name in sorted(required)},
            optional={name: valid(properties[name], depth + 1) for name in optional},
        )
        groups = exclusive_groups(schema)
        return fields.flatmap(lambda value: one_of_each(value, groups, properties, depth))
    if kind == "array":
        return st.lists(
            valid(schema.get("items", {}), depth + 1),
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 3), 3),
        )
    if kind == "integer":
        return number(schema, integer=True)
    if kind == "number":
        return number(schema, integer=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        if "pattern" in schema:
            text = st.from_regex(schema["pattern"], fullmatch=True)
        else:
            text = st.text(min_size=schema.get("minLength", 0), max_size=16)
        return text.filter(lambda s: len(s) >= schema.get("minLength", 0))
    return ANY_JSON


_PAIR = re.compile(r"has\(self\.(\w+)\) != has\(self\.(\w+)\)")


def exclusive_groups(schema: dict[str, Any]) -> list[list[str]]:
    """The CRD's "exactly one of" rules on an object (x-kubernetes-validations)."""
    groups = []
    for validation in schema.get("x-kubernetes-validations", ()):
        rule = validation["rule"]
        if match := _PAIR.fullmatch(rule.strip()):
            groups.append([match[1], match[2]])
        elif ".filter(" in rule and "size() == 1" in rule:
            groups.append(re.findall(r"has\(self\.(\w+)\)", rule))
    return groups


def one_of_each(
    value: dict[str, Any], groups: list[list[str]], properties: dict[str, Any], depth: int
) -> st.SearchStrategy[dict[str, Any]]:
    """Keep exactly one field of each group, generating it when none was drawn."""
    if not groups:
        return st.just(value)

    def keep(chosen: list[str]) -> st.SearchStrategy[dict[str, Any]]:
        trimmed = {
            k: v
            for k, v in value.items()
            if not any(k in g and k != c for g, c in zip(groups, chosen, strict=True))
        }
        missing = {c: valid(properties[c], depth + 1) for c in chosen if c not in trimmed}
        return st.fixed_dictionaries(missing).map(lambda extra: {**trimmed, **extra})

    return st.tuples(*(st.sampled_from(g) for g in groups)).map(list).flatmap(keep)


@st.composite
def broken(draw: st.DrawFn, value: Any) -> Any:
    """The value with one thing wrong somewhere inside it (or unchanged, sometimes)."""
    if isinstance(value, dict) and value and draw(st.integers(0, 3)) > 0:
        key = draw(st.sampled_from(sorted(value)))
        how = draw(st.sampled_from(["recurse", "drop", "unknown", "retype"]))
        changed = dict(value)
        if how == "recurse":
            changed[key] = draw(broken(value[key]))
        elif how == "drop":
            del changed[key]
        elif how == "unknown":
            changed[draw(st.text(min_size=1, max_size=8))] = draw(ANY_JSON)
        else:
            changed[key] = draw(ANY_JSON)
        return changed
    if isinstance(value, list) and value and draw(st.booleans()):
        index = draw(st.integers(0, len(value) - 1))
        return [*value[:index], draw(broken(value[index])), *value[index + 1 :]]
    return draw(st.one_of(st.just(value), ANY_JSON))


SPECS = valid(SPEC_SCHEMA)
FUZZED = st.one_of(SPECS, SPECS.flatmap(broken), ANY_JSON)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def assert_readable(status: RolloutStatus) -> None:
    for condition in status.conditions:
        assert condition.type and condition.reason and condition.status in ("True", "False")
    if status.phase is Phase.FAILED:
        assert any(c.status == "False" and c.message for c in status.conditions), status
    raw = status.to_raw()
    json.dumps(raw)
    assert RolloutStatus.from_raw(raw).phase is status.phase


@FUZZ
@given(raw=FUZZED, phase=st.sampled_from(list(Phase)))
def test_should_parse_or_refuse_a_fuzzed_spec_with_a_readable_condition(
    raw: Any, phase: Phase
) -> None:
    try:
        parse_spec(raw)
    except SpecError as err:
        message = str(err)
        assert "\n" not in message and len(message) < 2000, message
        assert _FIELD.match(message), message
        status = RolloutStatus(phase=phase)
        assert mark_spec_invalid(status, message, generation=2, now=T0)
        spec_valid = next(c for c in status.conditions if c.type == ConditionType.SPEC_VALID)
        assert (spec_valid.status, spec_valid.reason, spec_valid.message) == (
            "False",
            INVALID_SPEC,
            message,
        )
        assert_readable(status)


@FUZZ
@given(raw=SPECS)
def test_should_step_any_spec_that_parses_through_the_machine(raw: dict[str, Any]) -> None:
    try:
        spec = parse_spec(raw)
    except SpecError:
        return  # a cross-field rule (x-kubernetes-validations) the generator does not know
    world = World(spec)
    for _ in range(4):
        world.tick(seconds=30)
        world.make_ready()
        assert_readable(world.status)


@pytest.mark.parametrize("raw", [None, [], "spec", {"model": None}, {"model": {"name": 1}}])
def test_should_refuse_plainly_wrong_specs_naming_the_field(raw: Any) -> None:
    with pytest.raises(SpecError, match=_FIELD):
        parse_spec(raw)
