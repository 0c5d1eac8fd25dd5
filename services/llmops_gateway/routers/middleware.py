"""Request bodies: a size limit before any parsing, and the work cancelled when the client
leaves (pure ASGI, so streaming stays untouched).

A body larger than the limit gets 413 ``request_too_large`` without being read further: a
declared ``Content-Length`` is refused at once; a chunked body is read up to the limit and
refused when it goes over. Bodies within the limit are replayed to the app unchanged.

Once the body is read, this middleware owns the connection's ``receive``: a watcher waits for
``http.disconnect`` and, if the response is not complete yet, cancels the request's work
(its upstream call, an ingest between two batches). Without it a non-streaming request runs
on after its client left, keeping the engine busy, and holds the server's shutdown. The app
still sees the disconnect through ``receive`` (a streaming response listens for it there).
"""

from __future__ import annotations

import json

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from llmops_gateway.clients.metrics import GatewayMetrics
from llmops_gateway.routers.errors import error_body


class ConcurrencyLimitMiddleware:
    """At most ``limit`` POST requests in this process at once; one more gets 429
    ``too_many_concurrent_requests`` with ``Retry-After: 1`` before its body is read. No
    queue: under a flood the memory held is ``limit`` requests, not the flood, and the
    clients (or the load balancer) spread the retry. GETs (probes, metrics, models) are
    never refused."""

    def __init__(self, app: ASGIApp, limit: int, metrics: GatewayMetrics) -> None:
        self.app = app
        self.limit = limit
        self.metrics = metrics
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            self.metrics.overload_rejections.labels(scope["path"]).inc()
            await _send_error(
                send,
                429,
                message=f"The gateway is serving {self.limit} requests already; retry in a second.",
                type_="rate_limit_error",
                code="too_many_concurrent_requests",
                extra=[(b"retry-after", b"1")],
            )
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit: int, path_limits: dict[str, int]) -> None:
        self.app = app
        self.limit = limit
        self.path_limits = path_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope["path"], self.limit)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False
        disconnected = anyio.Event()
        complete = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnected.wait()  # after the body: only http.disconnect can come
            return {"type": "http.disconnect"}

        async def tracked_send(message: Message) -> None:
            nonlocal complete
            if message["type"] == "http.response.body" and not message.get("more_body"):
                complete = True
            await send(message)

        async with anyio.create_task_group() as group:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                disconnected.set()
                if not complete:
                    group.cancel_scope.cancel()  # the client left: stop its work

            group.start_soon(watch)
            await self.app(scope, replay, tracked_send)
            group.cancel_scope.cancel()  # the response is sent: stop watching


async def _refuse(send: Send, limit: int) -> None:
    await _send_error(
        send,
        413,
        message=f"The request body is larger than {limit} bytes.",
        type_="invalid_request_error",
        code="request_too_large",
        extra=[(b"connection", b"close")],
    )


async def _send_error(
    send: Send,
    status: int,
    *,
    message: str,
    type_: str,
    code: str,
    extra: list[tuple[bytes, bytes]],
) -> None:
    payload = json.dumps(error_body(message, type_, code)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
