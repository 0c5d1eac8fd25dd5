"""``GET /v1/usage``: tokens in/out and requests of the caller's team."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from llmops_gateway.deps import CallerDep, RuntimeDep

router = APIRouter(tags=["governance"])


@router.get("/v1/usage")
async def usage(runtime: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    return runtime.governance.usage_report(caller)
