"""``GET /v1/models``: generation aliases first, then embeddings, each by name."""

from __future__ import annotations

from llmops_contracts.routing import parse_routing_table
from llmops_gateway.clients.routing_file import RoutingSource
from llmops_gateway.domain.keys import KeyRecord
from llmops_gateway.domain.routing import BackendHealth, build_default_table
from llmops_gateway.services.catalog import Catalog
from llmops_gateway.services.governance import Caller
from llmops_gateway.services.plan import Planner

ANONYMOUS = Caller(key_id="anonymous", team="anonymous")


def _catalog(routes: dict[str, object]) -> Catalog:
    table = parse_routing_table({"version": "1", "routes": routes})
    return Catalog(Planner(RoutingSource(table), BackendHealth.create(5)))


def _route(kind: str = "generate") -> dict[str, object]:
    return {"kind": kind, "backends": [{"name": "b", "url": "http://b/v1", "model": "m"}]}


def test_should_list_generation_models_before_embedding_models() -> None:
    catalog = _catalog(
        {
            "all-minilm": _route("embeddings"),
            "zeta": _route(),
            "alpha": _route(),
            "ada": _route("embeddings"),
        }
    )

    cards = catalog.list(ANONYMOUS)

    assert [card.id for card in cards] == ["alpha", "zeta", "ada", "all-minilm"]
    assert [card.kind for card in cards] == ["generate", "generate", "embeddings", "embeddings"]


def test_should_put_a_chat_model_first_in_the_built_in_table() -> None:
    # The embedder's name sorts first ("all-minilm" < "gemma"): a client taking the first
    # model would get wrong_model_kind on chat.
    table = build_default_table("http://g/v1", "gemma-3-270m", "http://e/v1", "all-minilm-l6-v2")
    catalog = Catalog(Planner(RoutingSource(table), BackendHealth.create(5)))

    cards = catalog.list(ANONYMOUS)

    assert cards[0].kind == "generate"
    assert [card.id for card in cards] == ["gemma-3-270m", "rag", "all-minilm-l6-v2"]
    assert [card.rag for card in cards] == [False, True, False]


def test_should_list_only_the_models_a_key_may_use_in_the_same_order() -> None:
    catalog = _catalog({"emb": _route("embeddings"), "chat": _route(), "other": _route()})
    record = KeyRecord(id="k", team="t", sha256="0" * 64, models=("emb", "chat"))

    cards = catalog.list(Caller(key_id="k", team="t", record=record))

    assert [card.id for card in cards] == ["chat", "emb"]
