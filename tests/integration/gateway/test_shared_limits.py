"""API-key limits shared by gateway replicas through a real Redis (Debian's redis-server,
started here): two gateway processes with one keys file and one store admit a key's rpm and
spend its token budget together, not each its own; a store that stops answering makes keyed
requests fail closed with 503 in OpenAI's shape. Upstream: a fast *test* upstream."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from llmops_gateway.domain.keys import hash_key
from tests.integration.gateway.procs import (
    Proc,
    backend,
    gateway,
    redis_server,
    upstream,
    write_table,
)

KEYS = {
    "limited": {"team": "search", "models": ["chat"], "rpm": 4},
    "budget": {"team": "tiny", "models": ["chat"], "token_budget": 10},
}


@dataclass
class Fleet:
    replicas: tuple[Proc, Proc]
    redis: Proc


def post(replica: Proc, key: str, max_tokens: int = 2) -> httpx.Response:
    return httpx.post(
        replica.url + "/v1/chat/completions",
        headers={"authorization": f"Bearer secret-{key}"},
        json={"model": "chat", "messages": [{"role": "user", "content": "hi"}],
              "max_tokens": max_tokens},
        timeout=30,
    )  # fmt: skip


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    tmp = tmp_path_factory.mktemp("shared-limits")
    keys = tmp / "keys.json"
    entries = [
        {"id": name, "sha256": hash_key(f"secret-{name}"), **entry} for name, entry in KEYS.items()
    ]
    keys.write_text(json.dumps({"keys": entries}))
    with redis_server(tmp) as store, upstream(tmp, "up") as up:
        table = write_table(tmp / "routing.json", {"chat": {"backends": [backend("up", up.url)]}})
        shared = {
            "routing_table": table,
            "keys_file": keys,
            "limits_redis_url": f"redis://127.0.0.1:{store.port}/0",
        }
        with gateway(tmp, **shared) as a, gateway(tmp, **shared) as b:
            yield Fleet((a, b), store)


def test_should_admit_a_keys_rpm_once_across_replicas(fleet: Fleet) -> None:
    a, b = fleet.replicas
    # Alternating between the replicas: per-replica limits would admit 4 on each (8).
    statuses = Counter(post(replica, "limited").status_code for replica in (a, b) * 4)

    assert statuses == {200: 4, 429: 4}, statuses


def test_should_spend_a_token_budget_across_replicas(fleet: Fleet) -> None:
    a, b = fleet.replicas
    first = post(a, "budget", max_tokens=12)  # 12 completion tokens: over the budget of 10
    assert first.status_code == 200, first.text
    usage = httpx.get(
        a.url + "/v1/usage", headers={"authorization": "Bearer secret-budget"}, timeout=10
    ).json()

    refused = post(b, "budget")  # the other replica knows the budget is spent

    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "insufficient_quota"
    (team,) = usage["data"]
    assert team["key"]["tokens_used"] >= 12


def test_should_fail_closed_with_503_when_the_store_is_down(fleet: Fleet) -> None:
    a, _ = fleet.replicas
    fleet.redis.stop()

    response = post(a, "limited")

    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "limit_store_unavailable"
    assert f"127.0.0.1:{fleet.redis.port}" in error["message"]
    assert response.headers["retry-after"] == "5"
