"""``GET /v1/models``: the aliases of the routing table in force that the caller may use.

Order (stable, documented in the README): generation aliases first, then embeddings
aliases, each by name. Clients that take the first model of the list (many do) get one that
answers chat and completions, not an embedder that would refuse them with
``wrong_model_kind``.
"""

from __future__ import annotations

from llmops_contracts.routing import Route
from llmops_gateway.domain.errors import NotFoundError
from llmops_gateway.domain.results import ModelCard
from llmops_gateway.services.governance import Caller
from llmops_gateway.services.plan import Planner

KIND_ORDER = ("generate", "embeddings")


def model_order(alias: str, route: Route) -> tuple[int, str]:
    """Sort key of an alias in the model list: its kind's place, then its name."""
    return KIND_ORDER.index(route.kind), alias


def card(alias: str, route: Route) -> ModelCard:
    return ModelCard(
        id=alias,
        kind=route.kind,
        revisions=sorted({backend.revision for backend in route.backends}),
        rag=any(backend.rag is not None for backend in route.backends),
    )


class Catalog:
    def __init__(self, planner: Planner) -> None:
        self._planner = planner

    def list(self, caller: Caller) -> list[ModelCard]:
        routes = self._planner.table.routes
        aliases = sorted(routes, key=lambda alias: model_order(alias, routes[alias]))
        if caller.record is not None:
            aliases = [alias for alias in aliases if caller.record.allows_model(alias)]
        return [card(alias, routes[alias]) for alias in aliases]

    def get(self, caller: Caller, alias: str) -> ModelCard:
        routes = self._planner.table.routes
        allowed = caller.record is None or caller.record.allows_model(alias)
        if alias not in routes or not allowed:
            raise NotFoundError(f"The model `{alias}` does not exist.", code="model_not_found")
        return card(alias, routes[alias])
