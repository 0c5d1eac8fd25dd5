"""Routing math: weights within statistical tolerance, pins, stickiness, fallback order."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from llmops_contracts.routing import Backend, Route, RoutingTableError, parse_routing_table
from llmops_gateway.domain.routing import (
    BackendHealth,
    NoBackendError,
    build_default_table,
    pick_weighted,
    plan_backends,
    sticky_fraction,
)

# Chi-square critical values at p = 0.001 (df = categories - 1): a correct sampler fails
# with probability 1/1000, and the seeded RNG makes each run deterministic anyway.
CHI2_CRITICAL_0_001 = {1: 10.828, 2: 13.816, 3: 16.266}


def backend(name: str, weight: float, revision: str = "stable") -> Backend:
    return Backend.model_validate(
        {
            "name": name,
            "url": f"http://{name}:8000/v1/",
            "model": "m",
            "revision": revision,
            "weight": weight,
        }
    )


def route(*backends: Backend, sticky: str | None = None) -> Route:
    return Route(backends=backends, sticky=sticky)


def chi_square(observed: Counter[str], expected: dict[str, float]) -> float:
    return sum((observed[name] - want) ** 2 / want for name, want in expected.items())


@pytest.mark.parametrize(
    "weights",
    [{"stable": 90, "canary": 10}, {"a": 70, "b": 20, "c": 10}, {"a": 1, "b": 1, "c": 1, "d": 1}],
)
def test_should_honour_weights_within_chi_square_tolerance(weights: dict[str, float]) -> None:
    rng = random.Random(20240601)  # noqa: S311  (seeded on purpose: a repeatable test)
    r = route(*(backend(name, weight) for name, weight in weights.items()))
    draws = 20_000

    observed = Counter(
        plan_backends("m", r, fraction=rng.random()).backends[0].name for _ in range(draws)
    )

    total = sum(weights.values())
    expected = {name: draws * weight / total for name, weight in weights.items()}
    assert chi_square(observed, expected) < CHI2_CRITICAL_0_001[len(weights) - 1]


def test_should_send_a_small_canary_share_within_binomial_bounds() -> None:
    rng = random.Random(7)  # noqa: S311  (seeded on purpose)
    r = route(backend("stable", 99), backend("canary", 1, "canary"))
    draws = 50_000

    canary = sum(
        plan_backends("m", r, fraction=rng.random()).backends[0].name == "canary"
        for _ in range(draws)
    )

    # 1 % of 50 000 = 500, sigma = sqrt(n p (1-p)) ~ 22.2: allow 4 sigma.
    assert abs(canary - 500) < 4 * 22.25


def test_should_never_pick_a_zero_weight_backend_unless_pinned() -> None:
    r = route(backend("stable", 1), backend("preview", 0, "preview"))

    picked = {plan_backends("m", r, fraction=f / 100).backends[0].name for f in range(100)}
    pinned = plan_backends("m", r, fraction=0.5, pinned_revision="preview")

    assert picked == {"stable"}
    assert [b.name for b in pinned.backends] == ["preview"]


def test_should_refuse_a_pin_to_a_revision_the_alias_does_not_have() -> None:
    with pytest.raises(NoBackendError, match="canary"):
        plan_backends("m", route(backend("stable", 1)), fraction=0.1, pinned_revision="canary")


def test_should_list_fallbacks_of_the_same_alias_heaviest_first() -> None:
    r = route(backend("a", 10), backend("b", 60), backend("c", 30), backend("p", 0, "preview"))

    plan = plan_backends("m", r, fraction=0.0)  # first interval: "a"

    assert [b.name for b in plan.backends] == ["a", "b", "c"]


def test_should_try_backends_marked_down_last_but_still_try_them() -> None:
    r = route(backend("a", 50), backend("b", 50))

    plan = plan_backends("m", r, fraction=0.1, down=frozenset({"a"}))

    assert [b.name for b in plan.backends] == ["b", "a"]


def test_should_keep_one_user_on_one_backend_while_users_spread_by_weight() -> None:
    r = route(backend("stable", 80), backend("canary", 20, "canary"), sticky="user")

    first = {
        f"user-{i}": plan_backends("m", r, fraction=sticky_fraction(f"user-{i}", "m"))
        .backends[0]
        .name
        for i in range(5000)
    }
    again = {
        user: plan_backends("m", r, fraction=sticky_fraction(user, "m")).backends[0].name
        for user in first
    }

    assert first == again
    observed = Counter(first.values())
    assert chi_square(observed, {"stable": 4000, "canary": 1000}) < CHI2_CRITICAL_0_001[1]


def test_should_forget_a_backend_failure_after_the_cooldown() -> None:
    health = BackendHealth.create(cooldown_s=5)
    health.mark_down("a", now=100.0)

    assert health.down(now=104.9) == frozenset({"a"})
    assert health.down(now=105.1) == frozenset()


def test_should_pick_the_last_weighted_backend_at_the_top_of_the_interval() -> None:
    picked = pick_weighted([backend("a", 1), backend("b", 1)], 0.999999999999)

    assert picked is not None and picked.name == "b"


def test_should_parse_a_table_and_strip_trailing_slashes() -> None:
    table = parse_routing_table(
        {
            "version": "7",
            "routes": {
                "chat": {
                    "sticky": "header:x-session",
                    "backends": [
                        {"name": "s", "url": "http://s/v1/", "model": "m", "weight": 90},
                        {
                            "name": "c",
                            "url": "http://c/v1",
                            "model": "m",
                            "revision": "canary",
                            "weight": 10,
                            "rag": {"collection": "docs", "embedder": "emb"},
                        },
                    ],
                },
                "emb": {
                    "kind": "embeddings",
                    "backends": [{"name": "e", "url": "http://e/v1", "model": "e"}],
                },
            },
        }
    )

    assert table.version == "7"
    assert table.routes["chat"].backends[0].url == "http://s/v1"
    assert table.routes["chat"].backends[1].rag is not None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "mapping"),
        ({"routes": {"m": {"backends": []}}}, "routes.m.backends"),
        (
            {
                "routes": {
                    "m": {"backends": [{"name": "a", "url": "u", "model": "m", "weight": -1}]}
                }
            },
            "weight",
        ),
        (
            {
                "routes": {
                    "m": {"backends": [{"name": "a", "url": "u", "model": "m", "revision": "beta"}]}
                }
            },
            "revision",
        ),
        (
            {
                "routes": {
                    "m": {
                        "backends": [
                            {"name": "a", "url": "u", "model": "m"},
                            {"name": "a", "url": "v", "model": "m"},
                        ]
                    }
                }
            },
            "unique",
        ),
        (
            {
                "routes": {
                    "m": {"sticky": "cookie", "backends": [{"name": "a", "url": "u", "model": "m"}]}
                }
            },
            "sticky",
        ),
        (
            {
                "routes": {
                    "m": {
                        "backends": [
                            {
                                "name": "a",
                                "url": "u",
                                "model": "m",
                                "rag": {"collection": "c", "embedder": "nope"},
                            }
                        ]
                    }
                }
            },
            "embedder",
        ),
        ({"routes": {}, "extra": 1}, "extra"),
    ],
)
def test_should_reject_an_invalid_table_with_where_it_is_wrong(
    document: object, message: str
) -> None:
    with pytest.raises(RoutingTableError, match=message):
        parse_routing_table(document)


def test_should_build_the_local_engine_table_with_a_completion_chat_mode() -> None:
    table = build_default_table("http://g/v1", "gemma", "http://e/v1", "mini")

    assert table.routes["gemma"].backends[0].chat == "completion"
    assert table.routes["mini"].kind == "embeddings"


def test_should_give_the_local_engine_table_a_rag_alias_over_the_docs_collection() -> None:
    table = build_default_table("http://g/v1", "gemma", "http://e/v1", "mini")

    [backend] = table.routes["rag"].backends
    assert table.routes["rag"].kind == "generate"
    assert (backend.url, backend.model, backend.chat) == ("http://g/v1", "gemma", "completion")
    assert backend.rag is not None
    assert (backend.rag.collection, backend.rag.embedder) == ("docs", "mini")
    # A valid table: its embedder is an alias of the same table.
    assert parse_routing_table(table.model_dump()) == table
