"""The ASGI middlewares alone, with a scripted connection: a client that leaves cancels the
request's work; a finished response is never cancelled; beyond the concurrency limit a POST
is refused at once in OpenAI's shape, GETs never are."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from llmops_gateway.clients.metrics import GatewayMetrics
from llmops_gateway.routers.middleware import BodyLimitMiddleware, ConcurrencyLimitMiddleware

Message = dict[str, Any]


def scope(method: str = "POST", path: str = "/v1/completions") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "headers": []}


class Connection:
    """The server's side: the body, then a disconnect when the test says so."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.leave = anyio.Event()
        self.body_given = False

    async def receive(self) -> Message:
        if not self.body_given:
            self.body_given = True
            return {"type": "http.request", "body": b"{}", "more_body": False}
        await self.leave.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)


async def answer(send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize("leaves", [True, False])
def test_should_cancel_the_work_only_when_the_client_leaves_before_the_answer(
    leaves: bool,
) -> None:
    outcome: list[str] = []

    async def app(_scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["body"] == b"{}"
        try:
            await anyio.sleep(0.2)  # the upstream call
        except anyio.get_cancelled_exc_class():
            outcome.append("cancelled")
            raise
        await answer(send)
        outcome.append("answered")

    async def scenario() -> Connection:
        connection = Connection()
        middleware = BodyLimitMiddleware(app, limit=100, path_limits={})
        async with anyio.create_task_group() as group:
            group.start_soon(middleware, scope(), connection.receive, connection.send)
            await anyio.sleep(0.05 if leaves else 0.3)
            connection.leave.set()
        return connection

    connection = anyio.run(scenario)

    assert outcome == (["cancelled"] if leaves else ["answered"])
    assert len(connection.sent) == (0 if leaves else 2)


def test_should_refuse_posts_beyond_the_limit_at_once_and_never_gets() -> None:
    metrics = GatewayMetrics()
    release = anyio.Event()

    async def app(_scope: Any, _receive: Any, send: Any) -> None:
        await release.wait()
        await answer(send)

    async def scenario() -> tuple[list[Connection], Connection, Connection]:
        middleware = ConcurrencyLimitMiddleware(app, limit=2, metrics=metrics)
        held = [Connection(), Connection()]
        refused, probe = Connection(), Connection()
        async with anyio.create_task_group() as group:
            for connection in held:
                group.start_soon(middleware, scope(), connection.receive, connection.send)
            await anyio.sleep(0.01)
            await middleware(scope(), refused.receive, refused.send)  # returns at once
            group.start_soon(middleware, scope("GET", "/healthz"), probe.receive, probe.send)
            await anyio.sleep(0.01)
            assert middleware.in_flight == 2
            release.set()
        assert middleware.in_flight == 0
        return held, refused, probe

    held, refused, probe = anyio.run(scenario)

    assert [c.sent[0]["status"] for c in held] == [200, 200]
    start, body = refused.sent
    assert start["status"] == 429
    assert (b"retry-after", b"1") in start["headers"]
    error = json.loads(body["body"])["error"]
    assert error["code"] == "too_many_concurrent_requests" and error["type"] == "rate_limit_error"
    assert probe.sent[0]["status"] == 200
    rejected = metrics.registry.get_sample_value(
        "llmops_gateway_overload_rejections_total", {"path": "/v1/completions"}
    )
    assert rejected == 1
