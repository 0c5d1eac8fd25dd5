"""``GET /v1/models``: the aliases of the routing table in force (those the key may use)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from llmops_gateway.deps import CallerDep, RuntimeDep
from llmops_gateway.domain.errors import NotFoundError

router = APIRouter(tags=["openai"])


def _model_card(alias: str, runtime: RuntimeDep) -> dict[str, Any]:
    route = runtime.routing.table.routes[alias]
    return {
        "id": alias,
        "object": "model",
        "created": 0,
        "owned_by": "llmops",
        "llmops": {
            "kind": route.kind,
            "revisions": sorted({backend.revision for backend in route.backends}),
            "rag": any(backend.rag is not None for backend in route.backends),
        },
    }


@router.get("/v1/models")
async def list_models(runtime: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    aliases = sorted(runtime.routing.table.routes)
    if caller.record is not None:
        aliases = [alias for alias in aliases if caller.record.allows_model(alias)]
    return {"object": "list", "data": [_model_card(alias, runtime) for alias in aliases]}


@router.get("/v1/models/{alias}")
async def get_model(alias: str, runtime: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    allowed = caller.record is None or caller.record.allows_model(alias)
    if alias not in runtime.routing.table.routes or not allowed:
        raise NotFoundError(f"The model `{alias}` does not exist.", code="model_not_found")
    return _model_card(alias, runtime)
