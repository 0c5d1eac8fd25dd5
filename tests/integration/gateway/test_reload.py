"""Hot reload of the routing table under load: new weights take effect within a poll
interval, a broken file keeps the old table, and no request fails meanwhile. Upstreams are
fast OpenAI-compatible *test* upstreams (not vLLM)."""

from __future__ import annotations

import time
from collections import Counter
from functools import partial
from pathlib import Path

import anyio
import httpx
import pytest

from tests.integration.gateway.procs import backend, gateway, upstream, write_table

WORKERS = 16
POLL_S = 0.2


def routes(a_url: str, b_url: str, weight_a: float, weight_b: float) -> dict[str, object]:
    return {
        "chat": {
            "backends": [
                backend("a", a_url, weight=weight_a),
                backend("b", b_url, weight=weight_b, revision="canary"),
            ]
        }
    }


async def load(
    base: str,
    *,
    until: float,
    served: Counter[str],
    failures: list[str],
    last: dict[int, str],
    worker: int,
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        n = 0
        while time.monotonic() < until:
            n += 1
            stream = n % 3 == 0
            body = {
                "model": "chat",
                "messages": [{"role": "user", "content": "x"}],
                "max_tokens": 3,
                "stream": stream,
            }
            try:
                response = await client.post("/v1/chat/completions", json=body)
                text = response.text
            except httpx.HTTPError as err:
                failures.append(f"{type(err).__name__}: {err}")
                continue
            if response.status_code != 200 or (stream and "[DONE]" not in text):
                failures.append(f"{response.status_code}: {text[:200]}")
                continue
            name = response.headers["x-llmops-backend"]
            served[name] += 1
            last[worker] = name


def test_should_reload_the_table_under_load_without_a_failed_request(tmp_path: Path) -> None:
    with upstream(tmp_path, "a") as a, upstream(tmp_path, "b") as b:
        table = write_table(tmp_path / "routing.json", routes(a.url, b.url, 100, 0), "v1")
        with gateway(tmp_path, routing_table=table, routing_poll_interval_s=POLL_S) as gw:
            served: Counter[str] = Counter()
            failures: list[str] = []
            last: dict[int, str] = {}

            async def scenario() -> None:
                until = time.monotonic() + 6.0
                async with anyio.create_task_group() as group:
                    for worker in range(WORKERS):
                        group.start_soon(
                            partial(
                                load,
                                gw.url,
                                until=until,
                                served=served,
                                failures=failures,
                                last=last,
                                worker=worker,
                            )
                        )
                    for version, (wa, wb) in enumerate([(0, 100), (50, 50), (100, 0)], 2):
                        await anyio.sleep(1.0)
                        write_table(table, routes(a.url, b.url, wa, wb), f"v{version}")
                    await anyio.sleep(0.5)
                    table.write_text("routes: [this is not a table")  # rejected, v4 stays
                    await anyio.sleep(0.5)
                    # Well-formed but invalid (an alias without backends): rejected too.
                    write_table(table, {"m": {"backends": []}}, "v5")
                    await anyio.sleep(0.5)
                    write_table(table, routes(a.url, b.url, 0, 100), "v6")
                    await anyio.sleep(1.0)  # the last second: only "b" may serve

            anyio.run(scenario)

            log = gw.log.read_text()
            metrics = httpx.get(gw.url + "/metrics").text
            ready = httpx.get(gw.url + "/readyz").json()

    assert failures == []
    assert served["a"] > 50 and served["b"] > 50, served
    assert set(last.values()) == {"b"}
    assert ready["routing_table"]["version"] == "v6"
    assert 'llmops_gateway_routing_table_reloads_total{result="error"} 2.0' in metrics
    assert "rejected, keeping version 'v4'" in log
    assert "routes.m.backends" in log, log
    assert 'llmops_gateway_routing_table_reloads_total{result="ok"} 5.0' in metrics


def test_should_refuse_to_start_on_an_invalid_table(tmp_path: Path) -> None:
    table = tmp_path / "routing.yaml"
    table.write_text("routes:\n  m:\n    backends: []\n")

    with (
        pytest.raises(RuntimeError, match=r"routes\.m\.backends"),
        gateway(tmp_path, routing_table=table),
    ):
        pass
