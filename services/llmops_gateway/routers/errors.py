"""One error shape for every failure: OpenAI's ``{"error": {message, type, param, code}}``.

Handlers cover the domain errors (`llmops_gateway.domain.errors`), FastAPI's validation
errors (422 -> 400 ``invalid_request_error``, as OpenAI answers wrong types), malformed JSON,
unknown paths and methods, and anything unexpected (500, logged with its traceback, never
shown to the client).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from llmops_gateway.clients.metrics import GatewayMetrics
from llmops_gateway.domain.errors import GatewayError

log = logging.getLogger("llmops_gateway")

_STATUS_TYPES = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    404: ("not_found_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    413: ("invalid_request_error", "request_too_large"),
    415: ("invalid_request_error", "unsupported_media_type"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def error_body(message: str, type_: str, code: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_response(err: GatewayError) -> JSONResponse:
    headers = {}
    if err.retry_after_header is not None:
        headers["Retry-After"] = err.retry_after_header
    return JSONResponse(
        error_body(err.message, err.type, err.code, err.param),
        status_code=err.status,
        headers=headers,
    )


_ROUTES = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "completions",
    "/v1/embeddings": "embeddings",
    "/v1/rag/query": "rag",
    "/v1/ingest": "ingest",
}


def _gateway_error_handler(
    metrics: GatewayMetrics,
) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def _gateway_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GatewayError)
        if not exc.counted:
            # Failed before a model was known (e.g. 401): counted without model and revision.
            route = _ROUTES.get(request.url.path, "other")
            metrics.errors.labels(route, "", "", exc.code).inc()
            metrics.requests.labels(route, "", "", str(exc.status)).inc()
        return error_response(exc)

    return _gateway_error


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": ""}
    loc = [str(part) for part in first.get("loc", ()) if part != "body"]
    param = ".".join(loc) or None
    if first.get("type") == "json_invalid":
        message = f"We could not parse the JSON body of your request: {first.get('msg')}"
        return JSONResponse(
            error_body(message, "invalid_request_error", "invalid_json"), status_code=400
        )
    message = f"{param}: {first.get('msg')}" if param else str(first.get("msg"))
    return JSONResponse(
        error_body(message, "invalid_request_error", "invalid_value", param), status_code=400
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    type_, code = _STATUS_TYPES.get(exc.status_code, ("api_error", "http_error"))
    message = str(exc.detail)
    if exc.status_code == 404:
        message = "Unknown request URL. Please check the URL and the method."
    return JSONResponse(
        error_body(message, type_, code),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        error_body("The gateway had an internal error.", "api_error", "internal_error"),
        status_code=500,
    )


def install_error_handlers(app: FastAPI, metrics: GatewayMetrics) -> None:
    app.add_exception_handler(GatewayError, _gateway_error_handler(metrics))
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
