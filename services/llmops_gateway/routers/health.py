"""``/healthz`` (the process serves), ``/readyz`` (its backends and Milvus answer: see
`services.readiness`; 200 ready or degraded, 503 when nothing can be served) and
``/metrics`` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from llmops_gateway.routers.deps import ServicesDep
from llmops_gateway.routers.render import readiness_response

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(services: ServicesDep) -> JSONResponse:
    return readiness_response(await services.readiness.check())


@router.get("/metrics")
async def metrics(services: ServicesDep) -> Response:
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
