"""Dependencies of the routers, as `Annotated` aliases.

They are `async def` on purpose: FastAPI runs plain `def` dependencies in a worker thread,
and that hand-off cost more than everything they do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Header, Request

from llmops_gateway.calls import Call
from llmops_gateway.domain.errors import GatewayError
from llmops_gateway.governance import Caller
from llmops_gateway.runtime import Runtime
from llmops_gateway.telemetry import extract_context


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_caller(
    runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    """The caller of an ``Authorization: Bearer`` key (401 when missing or wrong)."""
    return runtime.governance.authenticate(authorization)


CallerDep = Annotated[Caller, Depends(get_caller)]


def open_call(runtime: Runtime, request: Request, caller: Caller, route: str, alias: str) -> Call:
    """A call for ``alias``, admitted by governance (403/429 raised here)."""
    call = Call(
        runtime=runtime,
        route=route,
        alias=alias,
        caller=caller,
        headers=request.headers,
        trace_context=extract_context(request.headers),
    )
    try:
        runtime.governance.admit(caller, alias)
    except GatewayError as err:
        call.count_error(err)
        raise
    return call


@asynccontextmanager
async def counting_errors(call: Call) -> AsyncIterator[None]:
    """Count a failed call once, under its route/model/revision labels."""
    runtime = call.runtime
    runtime.metrics.in_flight.labels(call.route).inc()
    try:
        yield
    except GatewayError as err:
        call.count_error(err)
        raise
    finally:
        runtime.metrics.in_flight.labels(call.route).dec()
