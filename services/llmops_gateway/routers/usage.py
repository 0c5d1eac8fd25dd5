"""``GET /v1/usage``: tokens in/out and requests of the caller's team."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from llmops_gateway.routers.deps import CallerDep, ServicesDep
from llmops_gateway.routers.render import usage_json

router = APIRouter(tags=["governance"])


@router.get("/v1/usage")
async def usage(services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    return usage_json(await services.governance.usage_report(caller))
