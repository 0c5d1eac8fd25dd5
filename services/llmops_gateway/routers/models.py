"""``GET /v1/models``: the aliases of the routing table in force (those the key may use),
generation aliases first (see `services.catalog`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from llmops_gateway.routers.deps import CallerDep, ServicesDep
from llmops_gateway.routers.render import model_json

router = APIRouter(tags=["openai"])


@router.get("/v1/models")
async def list_models(services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    cards = services.catalog.list(caller)
    return {"object": "list", "data": [model_json(card) for card in cards]}


@router.get("/v1/models/{alias}")
async def get_model(alias: str, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return model_json(services.catalog.get(caller, alias))
