"""Deleting a ModelDeployment, or moving it to another alias, takes its traffic out.

The real operator runs as the chart's ServiceAccount (so the chart's RBAC must allow what
the deletion handler does) against the real API server. What is checked is what the
gateway would read: the routing table's ``routes.<alias>`` entries, and how long kopf's
finalizer holds a deleted ModelDeployment. The user's own routers (an HTTPRoute, a KServe
InferenceService) are in `test_deletion_user_routes.py`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.kube import Kube
from tests.cluster.operator.chart_identity import LEASE
from tests.cluster.operator.conftest import Operator, free_port
from tests.cluster.operator.helpers import (
    KEEP,
    apply_md,
    backend_names,
    events_of,
    exists,
    get_md,
    is_succeeded,
    routes,
    seconds_until,
    seed_routing_table,
    set_revision,
    start_operator,
    status_of,
    wait_for,
)

log = logging.getLogger(__name__)
HOLD_S = 3.0  # how long the slow Prometheus holds a tick that is running at the deletion


class HeldPrometheus:
    """A Prometheus HTTP API whose queries wait until the test lets them go (then: 0.1)."""

    def __init__(self) -> None:
        self.asked, self.released = threading.Event(), threading.Event()
        held = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                held.asked.set()
                held.released.wait(60)
                sample = {"metric": {}, "value": [time.time(), "0.1"]}
                data = {"resultType": "vector", "result": [sample]}
                payload = json.dumps({"status": "success", "data": data}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()


@pytest.fixture
def held_prometheus() -> Iterator[HeldPrometheus]:
    held = HeldPrometheus()
    yield held
    held.close()


def test_a_deleted_model_deployment_leaves_the_routing_table_within_seconds(
    kube: Kube,
    namespace: str,
    tmp_path: Path,
    operators: list[Operator],
    held_prometheus: HeldPrometheus,
) -> None:
    op = start_operator(
        kube,
        namespace,
        tmp_path,
        operators,
        prometheus_url=held_prometheus.url,
        prometheus_timeout_s="60",
    )
    seed_routing_table(kube, namespace)
    analysis = {"interval": "1s", "count": 1, "window": "30s", "maxTtftP95Seconds": 0.5}
    steps = [{"setWeight": 20}, {"analysis": analysis}]
    apply_md(kube, namespace, "chat", namespace, strategy={"canary": {"steps": steps}})
    wait_for(kube, namespace, "chat", is_succeeded, operator=op)
    set_revision(kube, namespace, "chat", "2")
    # The canary takes 20 %; the analysis step's first query is held: a tick is running.
    assert held_prometheus.asked.wait(60), op.log.read_text()[-3000:]
    assert len(backend_names(kube, namespace, namespace)) == 2

    kube.kubectl("delete", "modeldeployment", "chat", "-n", namespace, "--wait=false")
    deleted_at = time.monotonic()
    time.sleep(HOLD_S)
    # The deletion handler waits for the running tick: nothing is released under it.
    assert exists(kube, namespace, "chat")
    assert len(backend_names(kube, namespace, namespace)) == 2
    held_prometheus.released.set()
    released_at = time.monotonic()
    seconds_until(lambda: not exists(kube, namespace, "chat"), 90, "the deletion", op)
    gone_at = time.monotonic()
    total, after_tick = gone_at - deleted_at, gone_at - released_at
    log.info("deletion took %.1f s, %.1f s after the running tick ended", total, after_tick)
    # kopf's defaults held the finalizer up to 60 s after the tick; now about a second
    assert total < 20 and after_tick < 10
    # The tick that ran at the deletion wrote before the handler: the alias stays gone.
    assert routes(kube, namespace) == {"keep": KEEP}
    time.sleep(2)
    assert routes(kube, namespace) == {"keep": KEEP}


def test_a_new_alias_takes_the_place_of_the_old_one(
    kube: Kube, namespace: str, tmp_path: Path, operators: list[Operator]
) -> None:
    op = start_operator(kube, namespace, tmp_path, operators)
    seed_routing_table(kube, namespace)
    apply_md(kube, namespace, "chat", "chat-v1")
    first = wait_for(kube, namespace, "chat", is_succeeded, operator=op)
    assert first["routedAlias"] == "chat-v1"
    backends = backend_names(kube, namespace, "chat-v1")
    assert backends == [f"chat-{first['stableHash']}"]

    patch = json.dumps({"spec": {"route": {"alias": "chat-v2"}}})
    kube.kubectl("patch", "modeldeployment", "chat", "-n", namespace, "--type=merge", "-p", patch)
    wait_for(kube, namespace, "chat", lambda s: s.get("routedAlias") == "chat-v2", operator=op)
    assert set(routes(kube, namespace)) == {"keep", "chat-v2"}
    assert backend_names(kube, namespace, "chat-v2") == backends
    released = events_of(kube, namespace, "chat", "AliasReleased")
    assert [e["message"] for e in released] == [
        "routes.chat-v1 removed from the routing table: spec.route.alias is now 'chat-v2'"
    ]


def test_the_owner_deleted_hands_its_alias_straight_to_the_waiting_claimant(
    kube: Kube, namespace: str, tmp_path: Path, operators: list[Operator]
) -> None:
    op = start_operator(kube, namespace, tmp_path, operators)
    apply_md(kube, namespace, "chat-a", "chat")
    apply_md(kube, namespace, "chat-b", "side")
    a = wait_for(kube, namespace, "chat-a", is_succeeded, operator=op)
    b = wait_for(kube, namespace, "chat-b", is_succeeded, operator=op)
    # chat-b moves onto chat-a's alias: it loses the claim and keeps its old entry meanwhile
    patch = json.dumps({"spec": {"route": {"alias": "chat"}}})
    kube.kubectl("patch", "md", "chat-b", "-n", namespace, "--type=merge", "-p", patch)
    wait_for(kube, namespace, "chat-b", lambda s: s.get("phase") == "Paused", operator=op)
    assert backend_names(kube, namespace, "chat") == [f"chat-a-{a['stableHash']}"]
    assert backend_names(kube, namespace, "side") == [f"chat-b-{b['stableHash']}"]

    kube.kubectl("delete", "modeldeployment", "chat-a", "-n", namespace, "--wait=false")
    seen: list[list[str]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        names = backend_names(kube, namespace, "chat")
        if not seen or seen[-1] != names:
            seen.append(names)
        if names == [f"chat-b-{b['stableHash']}"] and not exists(kube, namespace, "chat-a"):
            break
        time.sleep(0.1)
    # chat-a left the entry to chat-b, whose next tick rewrote it: never absent in between
    assert seen == [[f"chat-a-{a['stableHash']}"], [f"chat-b-{b['stableHash']}"]], seen
    wait_for(kube, namespace, "chat-b", lambda s: s.get("routedAlias") == "chat", operator=op)
    assert set(routes(kube, namespace)) == {"chat"}  # chat-b's old alias went too
    assert status_of(kube, namespace, "chat-b")["phase"] == "Succeeded"


def test_a_standby_holds_the_finalizer_until_it_leads_and_releases_the_alias(
    kube: Kube, namespace: str, tmp_path: Path, operators: list[Operator]
) -> None:
    election = {"leader_election": "true", "lease_duration_s": "4"}
    timing = {"renew_deadline_s": "3", "retry_period_s": "0.5"}
    leader = start_operator(kube, namespace, tmp_path, operators, **election, **timing)
    seconds_until(lambda: lease_holder(kube, namespace) == "op-0", 30, "op-0 to lead", leader)
    standby = start_operator(kube, namespace, tmp_path, operators, **election, **timing)
    apply_md(kube, namespace, "chat", "chat")
    wait_for(kube, namespace, "chat", is_succeeded, operator=leader)
    seconds_until(lambda: "stands by" in standby.log.read_text(), 30, "op-1 to stand by", standby)

    # The leader dies without releasing the Lease; the ModelDeployment is deleted at once.
    leader.kill()
    kube.kubectl("delete", "modeldeployment", "chat", "-n", namespace, "--wait=false")
    time.sleep(1.5)
    # The standby must not let kopf drop the finalizer: the alias would stay behind forever.
    assert exists(kube, namespace, "chat")
    assert "chat" in routes(kube, namespace)
    assert get_md(kube, namespace, "chat")["metadata"]["finalizers"]
    took = seconds_until(lambda: not exists(kube, namespace, "chat"), 30, "deletion", standby)
    log.info("deletion finished %.1f s after the leader died", took + 1.5)
    assert lease_holder(kube, namespace) == "op-1"
    assert "chat" not in routes(kube, namespace)


def lease_holder(kube: Kube, namespace: str) -> str:
    found = kube.kubectl("get", "lease", LEASE, "-n", namespace, "-o", "json", check=False)
    return str(json.loads(found.stdout)["spec"].get("holderIdentity", "")) if found.stdout else ""
