"""Readiness: can this gateway serve? (rendered by ``/readyz``.)

Ready means at least one alias of the routing table has a backend whose ``GET /models``
answers within ``ready_timeout_s``. An alias without one, or Milvus not answering, makes
it ``degraded`` (still ready): its requests get a 503 naming what is down, while every
other alias keeps serving. Were one model's outage to fail the probe, the Service would
drop every gateway pod and take all aliases down with it. Not ready: no alias can be served
at all (at start, before any model is up). The result says what was checked, so a probe
explains itself.
"""

from __future__ import annotations

import anyio
import httpx

from llmops_gateway.clients.routing_file import RoutingSource
from llmops_gateway.clients.upstream import HttpClients, get_json
from llmops_gateway.clients.vectorstore import VectorStore
from llmops_gateway.domain.results import Readiness


class ReadinessCheck:
    def __init__(
        self,
        routing: RoutingSource,
        http: HttpClients,
        vectors: VectorStore | None,
        timeout_s: float,
    ) -> None:
        self._routing = routing
        self._http = http
        self._vectors = vectors
        self._timeout_s = timeout_s

    async def check(self) -> Readiness:
        table = self._routing.table
        urls = sorted({b.url for route in table.routes.values() for b in route.backends})
        answers: dict[str, str] = {}

        async def probe(url: str) -> None:
            try:
                await get_json(self._http.pick(), f"{url}/models", self._timeout_s)
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
        complete = all(aliases.values())
        milvus = None
        if self._vectors is not None:
            try:
                with anyio.fail_after(self._timeout_s):
                    await self._vectors.ping()
                milvus = "ok"
            except Exception as err:
                milvus = type(err).__name__
                complete = False
        return Readiness(
            table_version=table.version,
            table_sha256=self._routing.digest,
            backends=answers,
            aliases=aliases,
            milvus=milvus,
            ready=any(aliases.values()),
            complete=complete,
        )
