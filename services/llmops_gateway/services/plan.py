"""The one place a call's plan is built: alias -> route -> the backends to try, in order.

What decides the order (the math is `domain.routing.plan_backends`): the revision pinned by
the ``x-llmops-revision`` header, else the route's sticky key (``sticky: user`` or
``sticky: header:<name>``) hashed to a stable fraction, else a weighted random draw; backends
that refused a connection within the cool-down go last (`BackendHealth`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

from llmops_contracts.routing import Route, RoutingTable
from llmops_gateway.clients.routing_file import RoutingSource
from llmops_gateway.domain.errors import InvalidRequestError, NotFoundError
from llmops_gateway.domain.routing import (
    REVISION_HEADER,
    BackendHealth,
    NoBackendError,
    RouteKind,
    RoutingPlan,
    plan_backends,
    sticky_fraction,
)
from llmops_gateway.services.context import Call


class Planner:
    """Routes and plans against the table in force."""

    def __init__(
        self, routing: RoutingSource, health: BackendHealth, rng: random.Random | None = None
    ) -> None:
        self.routing = routing
        self.health = health
        self._rng = rng or random.Random()  # noqa: S311 -- traffic split, not secrets

    @property
    def table(self) -> RoutingTable:
        return self.routing.table

    def route(self, alias: str, kind: RouteKind) -> Route:
        """The alias's route from the table in force, or 404 ``model_not_found``."""
        route = self.routing.table.routes.get(alias)
        if route is None:
            raise NotFoundError(
                f"The model `{alias}` does not exist.", code="model_not_found", param="model"
            )
        if route.kind != kind:
            raise InvalidRequestError(
                f"The model `{alias}` is an {route.kind} model and cannot serve this endpoint.",
                code="wrong_model_kind",
                param="model",
            )
        return route

    def plan(self, call: Call, route: Route, body: Mapping[str, Any]) -> RoutingPlan:
        """Pick the backend order: pinned revision header, sticky key, or a weighted draw."""
        pinned = call.headers.get(REVISION_HEADER) or None
        fraction = self._rng.random()
        if route.sticky == "user" and body.get("user"):
            fraction = sticky_fraction(str(body["user"]), call.alias)
        elif route.sticky and route.sticky.startswith("header:"):
            key = call.headers.get(route.sticky.removeprefix("header:").lower())
            if key:
                fraction = sticky_fraction(key, call.alias)
        try:
            return plan_backends(
                call.alias,
                route,
                fraction=fraction,
                pinned_revision=pinned,
                down=self.health.down(time.monotonic()),
            )
        except NoBackendError as err:
            raise NotFoundError(str(err), code="revision_not_found") from err
