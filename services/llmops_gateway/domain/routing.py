"""The routing table and the routing math: which backend serves a request (pure).

The file format and its models are `llmops_contracts.routing` (shared with the operator).

Contract of `plan_backends`: the first backend is chosen by weight (or by the sticky key's
hash, so one user keeps one revision while weights stay put); the remaining backends of the
same alias with weight > 0 follow as fallbacks, healthy ones first. A pinned revision
restricts the plan to that revision, weight 0 included (that is how previews are reached).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from llmops_contracts.routing import Backend, RagSettings, Route, RoutingTable

RouteKind = Literal["generate", "embeddings"]
# A client pins a revision with this request header (weight 0 included: previews).
REVISION_HEADER = "x-llmops-revision"
# The built-in table's RAG alias, and the collection it answers from.
BUILT_IN_RAG_ALIAS = "rag"
BUILT_IN_RAG_COLLECTION = "docs"


def build_default_table(
    generate_url: str, generate_model: str, embed_url: str, embed_model: str
) -> RoutingTable:
    """The table used without a file: the local engine's two models under their own names,
    and ``rag``: the generation model answering from the ``docs`` collection (embedded with
    the embeddings model), so ``llmops ingest ./docs --collection docs`` then a chat or
    ``/v1/rag/query`` with ``model: rag`` works without writing a table."""
    generate = Backend(
        name=f"{generate_model}-local", url=generate_url, model=generate_model, chat="completion"
    )
    rag = RagSettings(collection=BUILT_IN_RAG_COLLECTION, embedder=embed_model)
    return RoutingTable(
        version="built-in",
        routes={
            generate_model: Route(backends=(generate,)),
            embed_model: Route(
                kind="embeddings",
                backends=(Backend(name=f"{embed_model}-local", url=embed_url, model=embed_model),),
            ),
            BUILT_IN_RAG_ALIAS: Route(
                backends=(
                    generate.model_copy(update={"name": f"{generate_model}-rag", "rag": rag}),
                )
            ),
        },
    )


def sticky_fraction(key: str, alias: str) -> float:
    """A stable number in [0, 1) for a sticky key: the same user lands on the same revision."""
    digest = hashlib.sha256(f"{alias}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def pick_weighted(backends: Iterable[Backend], fraction: float) -> Backend | None:
    """The backend whose cumulative-weight interval contains ``fraction`` (0 <= f < 1).

    Backends of weight 0 are never picked; None when no backend has a weight.
    """
    candidates = [backend for backend in backends if backend.weight > 0]
    total = math.fsum(backend.weight for backend in candidates)
    if total <= 0:
        return None
    target = fraction * total
    cumulative = 0.0
    for backend in candidates:
        cumulative += backend.weight
        if target < cumulative:
            return backend
    return candidates[-1]  # fraction rounding at the very top of the interval


@dataclass(frozen=True)
class RoutingPlan:
    """The backends to try, in order (first: the chosen one; then fallbacks)."""

    alias: str
    route: Route
    backends: tuple[Backend, ...]


class NoBackendError(LookupError):
    """No backend of the alias matches (e.g. a pinned revision that does not exist)."""


def plan_backends(
    alias: str,
    route: Route,
    *,
    fraction: float,
    pinned_revision: str | None = None,
    down: frozenset[str] = frozenset(),
) -> RoutingPlan:
    """Order the alias's backends for one request (see the module docstring)."""
    pool: list[Backend] = list(route.backends)
    if pinned_revision is not None:
        pool = [backend for backend in pool if backend.revision == pinned_revision]
        if not pool:
            raise NoBackendError(f"model {alias!r} has no backend of revision {pinned_revision!r}")
        # Pinned: weight 0 is fine (previews), but prefer weighted ones when several exist.
        first = pick_weighted(pool, fraction) or pool[0]
    else:
        first_or_none = pick_weighted(pool, fraction)
        if first_or_none is None:
            raise NoBackendError(f"model {alias!r} has no backend with a weight above 0")
        first = first_or_none
        pool = [backend for backend in pool if backend.weight > 0]
    rest = sorted(
        (backend for backend in pool if backend.name != first.name),
        key=lambda backend: -backend.weight,
    )
    ordered = [first, *rest]
    # A backend that just refused connections goes last, but stays in the plan: when every
    # backend is marked down, trying them is still better than answering 503 untried.
    ordered.sort(key=lambda backend: backend.name in down)
    return RoutingPlan(alias=alias, route=route, backends=tuple(ordered))


@dataclass
class BackendHealth:
    """Passive health: backends that refused a connection recently (monotonic seconds)."""

    cooldown_s: float
    _down_until: dict[str, float]

    @classmethod
    def create(cls, cooldown_s: float) -> BackendHealth:
        return cls(cooldown_s=cooldown_s, _down_until={})

    def mark_down(self, name: str, now: float) -> None:
        self._down_until[name] = now + self.cooldown_s

    def mark_up(self, name: str) -> None:
        self._down_until.pop(name, None)

    def down(self, now: float) -> frozenset[str]:
        return frozenset(name for name, until in self._down_until.items() if until > now)
