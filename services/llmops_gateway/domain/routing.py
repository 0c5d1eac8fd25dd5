"""The routing table and the routing math: which backend serves a request (pure).

File format (YAML or JSON; the operator writes it, the gateway watches it)::

    version: "42"                      # any label; shown in /readyz and logs
    routes:
      gemma:                           # the model alias clients send
        kind: generate                 # generate (default) or embeddings
        sticky: user                   # optional: "user" (body field) or "header:<name>"
        backends:
          - name: gemma-stable
            url: http://vllm-stable:8000/v1
            model: gemma-3-270m        # model name the upstream serves
            revision: stable           # stable | canary | preview
            weight: 90
            chat: completion           # native | completion (see domain.prompts)
          - name: gemma-canary
            url: http://vllm-canary:8000/v1
            model: gemma-3-270m
            revision: canary
            weight: 10
            rag:                       # optional: this revision answers with retrieval
              collection: docs
              top_k: 4
              template: rag-v2
              embedder: all-minilm-l6-v2

Contract of `plan_backends`: the first backend is chosen by weight (or by the sticky key's
hash, so one user keeps one revision while weights stay put); the remaining backends of the
same alias with weight > 0 follow as fallbacks, healthy ones first. A pinned revision
restricts the plan to that revision, weight 0 included (that is how previews are reached).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Revision = Literal["stable", "canary", "preview"]
REVISIONS: tuple[str, ...] = ("stable", "canary", "preview")


class RagSettings(BaseModel):
    """Retrieval settings of one revision: a canary may change retrieval and generation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    collection: str
    top_k: int = Field(default=4, ge=1, le=50)
    template: str = "rag-v1"
    embedder: str
    min_score: float = Field(default=0.0, description="Chunks scoring below are dropped.")


class Backend(BaseModel):
    """One upstream OpenAI-compatible server behind an alias."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    url: str
    model: str
    revision: Revision = "stable"
    weight: float = Field(default=1.0, ge=0)
    # "completion": the model has no chat template (a base model); the gateway renders chat
    # messages into a completion prompt. "native": the upstream's /chat/completions is used.
    chat: Literal["native", "completion"] = "native"
    rag: RagSettings | None = None

    @field_validator("url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


class Route(BaseModel):
    """An alias and its backends."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["generate", "embeddings"] = "generate"
    sticky: str | None = Field(default=None, description='"user" or "header:<name>".')
    backends: tuple[Backend, ...] = Field(min_length=1)

    @field_validator("sticky")
    @classmethod
    def _sticky_form(cls, value: str | None) -> str | None:
        if value is not None and value != "user" and not value.startswith("header:"):
            raise ValueError('sticky must be "user" or "header:<name>"')
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> Route:
        names = [backend.name for backend in self.backends]
        if len(names) != len(set(names)):
            raise ValueError(f"backend names must be unique, got {names}")
        return self


class RoutingTable(BaseModel):
    """All aliases. Immutable: a reload builds a new table and swaps the reference."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = ""
    routes: dict[str, Route] = Field(default_factory=dict)


class RoutingTableError(ValueError):
    """The routing table file is not valid; the previous table stays in force."""


def parse_routing_table(data: Any) -> RoutingTable:
    """Validate a decoded YAML/JSON document into a table, or raise `RoutingTableError`."""
    if not isinstance(data, Mapping):
        raise RoutingTableError("the routing table must be a mapping with a 'routes' key")
    try:
        table = RoutingTable.model_validate(dict(data))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RoutingTableError(f"{where}: {first['msg']}") from err
    for alias, route in table.routes.items():
        for backend in route.backends:
            if backend.rag is not None and backend.rag.embedder not in table.routes:
                raise RoutingTableError(
                    f"routes.{alias}.{backend.name}.rag.embedder: "
                    f"{backend.rag.embedder!r} is not an alias of this table"
                )
    return table


def build_default_table(
    generate_url: str, generate_model: str, embed_url: str, embed_model: str
) -> RoutingTable:
    """The table used without a file: the local engine's two models under their own names."""
    return RoutingTable(
        version="built-in",
        routes={
            generate_model: Route(
                backends=(
                    Backend(
                        name=f"{generate_model}-local",
                        url=generate_url,
                        model=generate_model,
                        chat="completion",
                    ),
                )
            ),
            embed_model: Route(
                kind="embeddings",
                backends=(Backend(name=f"{embed_model}-local", url=embed_url, model=embed_model),),
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
