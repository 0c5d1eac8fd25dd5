"""The one place a call's plan is built: route lookup, pinned revision, sticky key, weights."""

from __future__ import annotations

import random

import pytest
from opentelemetry.context import Context

from llmops_contracts.routing import parse_routing_table
from llmops_gateway.clients.routing_file import RoutingSource
from llmops_gateway.domain.errors import InvalidRequestError, NotFoundError
from llmops_gateway.domain.routing import BackendHealth
from llmops_gateway.services.context import Call
from llmops_gateway.services.governance import Caller
from llmops_gateway.services.plan import Planner

TABLE = parse_routing_table(
    {
        "routes": {
            "chat": {
                "sticky": "header:x-session",
                "backends": [
                    {"name": "s", "url": "http://s/v1", "model": "m", "weight": 90},
                    {"name": "c", "url": "http://c/v1", "model": "m", "weight": 10,
                     "revision": "canary"},
                    {"name": "p", "url": "http://p/v1", "model": "m", "weight": 0,
                     "revision": "preview"},
                ],
            },
            "emb": {"kind": "embeddings",
                    "backends": [{"name": "e", "url": "http://e/v1", "model": "e"}]},
        }
    }
)  # fmt: skip


def _planner() -> Planner:
    return Planner(RoutingSource(TABLE), BackendHealth.create(5), random.Random(0))  # noqa: S311


def _call(**headers: str) -> Call:
    return Call(
        route="chat",
        alias="chat",
        caller=Caller(key_id="a", team="a"),
        headers=headers,
        trace_context=Context(),
    )


def test_should_pin_the_revision_of_the_header_even_at_weight_zero() -> None:
    planner = _planner()

    plan = planner.plan(_call(**{"x-llmops-revision": "preview"}), TABLE.routes["chat"], {})

    assert [backend.name for backend in plan.backends] == ["p"]


def test_should_keep_one_session_on_one_backend_with_a_sticky_header() -> None:
    planner = _planner()
    route = TABLE.routes["chat"]

    firsts = {planner.plan(_call(**{"x-session": "u1"}), route, {}).backends[0].name
              for _ in range(20)}  # fmt: skip

    assert len(firsts) == 1


def test_should_refuse_an_unknown_alias_a_wrong_kind_and_an_unknown_pinned_revision() -> None:
    planner = _planner()

    with pytest.raises(NotFoundError) as missing:
        planner.route("nope", "generate")
    with pytest.raises(InvalidRequestError) as kind:
        planner.route("emb", "generate")
    with pytest.raises(NotFoundError) as revision:
        planner.plan(_call(**{"x-llmops-revision": "stable-2"}), TABLE.routes["emb"], {})

    assert (missing.value.code, kind.value.code) == ("model_not_found", "wrong_model_kind")
    assert revision.value.code == "revision_not_found"
