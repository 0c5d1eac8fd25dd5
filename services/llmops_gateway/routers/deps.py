"""Dependencies of the routers, as `Annotated` aliases: the services the app factory built
(`services.bundle.Services` on ``app.state``) and the authenticated caller.

They are `async def` on purpose: FastAPI runs plain `def` dependencies in a worker thread,
and that hand-off cost more than everything they do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from llmops_gateway.services.bundle import Services
from llmops_gateway.services.governance import Caller


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_caller(
    services: ServicesDep, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    """The caller of an ``Authorization: Bearer`` key (401 when missing or wrong)."""
    return services.governance.authenticate(authorization)


CallerDep = Annotated[Caller, Depends(get_caller)]
