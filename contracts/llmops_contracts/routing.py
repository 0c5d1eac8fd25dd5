"""The routing table: which backends serve each model alias (pure, pydantic only).

The one definition of the format: the operator builds its alias's backends with these models
and writes the table into a ConfigMap; `llmops demo` writes one into a file; the gateway
parses and watches it (`parse_routing_table`), and keeps the previous table when a new one
does not parse.

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
"""

from __future__ import annotations

from collections.abc import Mapping
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


def dump_routing_table(table: RoutingTable) -> dict[str, Any]:
    """The table as the gateway reads it (unset optional fields left out)."""
    return table.model_dump(mode="json", exclude_none=True)
