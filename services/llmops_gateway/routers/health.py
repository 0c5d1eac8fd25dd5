"""``/healthz`` (the process serves), ``/readyz`` (its backends and Milvus answer) and
``/metrics`` (Prometheus).

Ready (200) means the gateway can serve: at least one alias of its routing table has a
backend whose ``GET /models`` answers within ``ready_timeout_s``. An alias without one, or
Milvus not answering, makes it ``degraded`` (still 200): its requests get a 503 naming what
is down, while every other alias keeps serving. Were one model's outage to fail the probe,
the Service would drop every gateway pod and take all aliases down with it. Not ready (503):
no alias can be served at all (at start, before any model is up). The body says what was
checked, so a probe explains itself.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from llmops_gateway.clients.upstream import get_json
from llmops_gateway.deps import RuntimeDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    table = runtime.routing.table
    urls = sorted({backend.url for route in table.routes.values() for backend in route.backends})
    answers: dict[str, str] = {}
    timeout = runtime.settings.ready_timeout_s

    async def probe(url: str) -> None:
        try:
            await get_json(runtime.http.pick(), f"{url}/models", timeout)
            answers[url] = "ok"
        except (httpx.HTTPError, ValueError) as err:
            answers[url] = type(err).__name__

    async with anyio.create_task_group() as group:
        for url in urls:
            group.start_soon(probe, url)
    aliases = {
        alias: any(answers[backend.url] == "ok" for backend in route.backends)
        for alias, route in table.routes.items()
    }
    body: dict[str, Any] = {
        "routing_table": {"version": table.version, "sha256": runtime.routing.digest},
        "backends": answers,
        "aliases": aliases,
    }
    ready = any(aliases.values())
    complete = all(aliases.values())
    if runtime.vectors is not None:
        try:
            with anyio.fail_after(timeout):
                await runtime.vectors.ping()
            body["milvus"] = "ok"
        except Exception as err:
            body["milvus"] = type(err).__name__
            complete = False
    body["status"] = ("ready" if complete else "degraded") if ready else "not ready"
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics(runtime: RuntimeDep) -> Response:
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
