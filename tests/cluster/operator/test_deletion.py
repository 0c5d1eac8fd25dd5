"""Deleting a ModelDeployment, or moving it to another alias, takes its traffic out.

The real operator runs as the chart's ServiceAccount (so the chart's RBAC must allow what
the deletion handler does) against the real API server. What is checked is what the
gateway would read: the routing table's ``routes.<alias>`` entries, and how long kopf's
finalizer holds a deleted ModelDeployment.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.kube import Kube
from tests.cluster.operator.chart_identity import LEASE, apply_chart_rbac, chart_operator
from tests.cluster.operator.conftest import Operator, free_port
from tests.cluster.operator.helpers import (
    EXAMPLES,
    KEEP,
    get_md,
    routing_table,
    set_revision,
    status_of,
    wait_for,
    write_routing_table,
)
from tests.cluster.operator.kserve_stand_in import revision, write_kserve_status
from tests.cluster.operator.third_party_crds import (
    GATEWAY_API_HTTPROUTE,
    KSERVE_INFERENCESERVICE,
    install_crd,
)

log = logging.getLogger(__name__)
HOLD_S = 3.0  # how long the slow Prometheus holds a tick that is running at the deletion
MATCHES = [{"path": {"type": "PathPrefix", "value": "/v1"}}]
# An HTTPRoute's rules as its user wrote them (`apply_http_route`), less the backendRefs.
USER_RULES: list[dict[str, Any]] = [
    {
        "matches": MATCHES,
        "filters": [
            {
                "type": "RequestHeaderModifier",
                "requestHeaderModifier": {"set": [{"name": "x-team", "value": "llm"}]},
            }
        ],
    },
    {"matches": [{"path": {"type": "PathPrefix", "value": "/v2"}}]},
]


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


@pytest.fixture(scope="session")
def gateway_api_crd(kube: Kube) -> None:
    install_crd(kube, GATEWAY_API_HTTPROUTE)


@pytest.fixture(scope="session")
def kserve_crd(kube: Kube) -> None:
    install_crd(kube, KSERVE_INFERENCESERVICE)


@pytest.fixture
def held_prometheus() -> Iterator[HeldPrometheus]:
    held = HeldPrometheus()
    yield held
    held.close()


@pytest.fixture
def rbac(kube: Kube, crd: None, namespace: str) -> None:
    apply_chart_rbac(kube, namespace)


@pytest.fixture
def operators(kube: Kube, rbac: None, namespace: str, tmp_path: Path) -> Iterator[list[Operator]]:
    """Operators a test starts itself; every one is stopped at the end."""
    started: list[Operator] = []
    yield started
    for op in started:
        op.stop()


def start_operator(
    kube: Kube, namespace: str, tmp_path: Path, operators: list[Operator], **settings: str
) -> Operator:
    op = chart_operator(kube, namespace, tmp_path, f"op-{len(operators)}", **settings)
    op.start()
    operators.append(op)
    return op


def apply_md(kube: Kube, namespace: str, name: str, alias: str, **spec: Any) -> None:
    """The canary example as ``name`` with one replica, behind ``alias``; ``spec`` overrides
    top-level spec keys."""
    doc = yaml.safe_load((EXAMPLES / "canary.yaml").read_text())
    doc["metadata"]["name"] = name
    doc["spec"]["route"]["alias"] = alias
    doc["spec"]["engine"]["replicas"] = 1
    doc["spec"].update(spec)
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(doc))


def seed_routing_table(kube: Kube, namespace: str) -> None:
    """A table with an alias of someone else's (``keep``), which must survive everything."""
    write_routing_table(kube, namespace, {"keep": KEEP})


def routes(kube: Kube, namespace: str) -> dict[str, Any]:
    found: dict[str, Any] = routing_table(kube, namespace).get("routes") or {}
    return found


def backend_names(kube: Kube, namespace: str, alias: str) -> list[str]:
    return [b["name"] for b in (routes(kube, namespace).get(alias) or {}).get("backends", [])]


def exists(kube: Kube, namespace: str, name: str) -> bool:
    found = kube.kubectl("get", "modeldeployment", name, "-n", namespace, check=False)
    if found.returncode != 0 and "NotFound" not in found.stderr:
        raise AssertionError(found.stderr)
    return found.returncode == 0


def seconds_until(check: Callable[[], bool], timeout: float, what: str, op: Operator) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{op.log.read_text()[-3000:]}")


def is_succeeded(status: dict[str, Any]) -> bool:
    return status.get("phase") == "Succeeded"


def events_of(kube: Kube, namespace: str, name: str, why: str) -> list[dict[str, Any]]:
    selector = f"involvedObject.name={name},reason={why}"
    out = kube.kubectl(
        "get", "events", "-n", namespace, "--field-selector", selector, "-o", "json"
    ).stdout
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


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


def test_a_deleted_model_deployment_takes_its_refs_out_of_the_users_http_route(
    kube: Kube,
    namespace: str,
    tmp_path: Path,
    operators: list[Operator],
    gateway_api_crd: None,
) -> None:
    op = start_operator(kube, namespace, tmp_path, operators)
    apply_http_route(kube, namespace, "llm")
    apply_md(kube, namespace, "chat", "chat", route={"router": "httpRoute", "httpRoute": "llm"})
    first = wait_for(kube, namespace, "chat", is_succeeded, operator=op)
    assert ref_names(kube, namespace, "llm") == [[f"chat-{first['stableHash']}"]] * 2

    kube.kubectl("delete", "modeldeployment", "chat", "-n", namespace, "--wait=false")
    seconds_until(lambda: not exists(kube, namespace, "chat"), 30, "the deletion", op)
    kept = get_object(kube, namespace, "httproute", "llm")["spec"]
    assert kept["parentRefs"][0]["name"] == "public"
    # the rules stay as the user wrote them, without refs: they forward nothing
    assert http_route(kube, namespace) == USER_RULES


def test_a_renamed_http_route_takes_the_place_of_the_old_one(
    kube: Kube,
    namespace: str,
    tmp_path: Path,
    operators: list[Operator],
    gateway_api_crd: None,
) -> None:
    op = start_operator(kube, namespace, tmp_path, operators)
    apply_http_route(kube, namespace, "llm")
    apply_http_route(kube, namespace, "llm-v2")
    route = {"router": "httpRoute", "httpRoute": "llm", "alias": "chat"}
    apply_md(kube, namespace, "chat", "chat", route=route)
    first = wait_for(kube, namespace, "chat", is_succeeded, operator=op)
    assert first["routedHttpRoute"] == "llm"
    stable = f"chat-{first['stableHash']}"

    patch = json.dumps({"spec": {"route": {"httpRoute": "llm-v2"}}})
    kube.kubectl("patch", "modeldeployment", "chat", "-n", namespace, "--type=merge", "-p", patch)
    wait_for(kube, namespace, "chat", lambda s: s.get("routedHttpRoute") == "llm-v2", operator=op)
    assert ref_names(kube, namespace, "llm-v2") == [[stable]] * 2
    # the old route no longer sends anything to this ModelDeployment's Services
    assert http_route(kube, namespace, "llm") == USER_RULES
    released = events_of(kube, namespace, "chat", "HTTPRouteReleased")
    assert [e["message"] for e in released] == [
        "this ModelDeployment's backendRefs removed from HTTPRoute 'llm': "
        "spec.route.httpRoute is now 'llm-v2'"
    ]
    # back to the gateway: the refs leave llm-v2 as well, and the table gets the alias
    seed_routing_table(kube, namespace)
    patch = json.dumps({"spec": {"route": {"router": "gateway", "httpRoute": None}}})
    kube.kubectl("patch", "modeldeployment", "chat", "-n", namespace, "--type=merge", "-p", patch)
    status = wait_for(
        kube, namespace, "chat", lambda s: s.get("routedAlias") == "chat", operator=op
    )
    assert status.get("routedHttpRoute") is None
    assert http_route(kube, namespace, "llm-v2") == USER_RULES
    assert backend_names(kube, namespace, "chat") == [stable]


def test_a_deleted_model_deployment_leaves_the_inference_service_as_it_was(
    kube: Kube,
    namespace: str,
    tmp_path: Path,
    operators: list[Operator],
    kserve_crd: None,
) -> None:
    op = start_operator(kube, namespace, tmp_path, operators)
    predictor = {"model": {"modelFormat": {"name": "huggingface"}, "storageUri": "hf://a/b"}}
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "llm"},
        "spec": {"predictor": predictor},
    }
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(isvc))
    apply_md(kube, namespace, "chat", "chat", route={"router": "kserve", "inferenceService": "llm"})
    # No KServe controller runs here: the test stands in for it once the operator has written
    # its first revision, reporting that revision created and Ready (`kserve_stand_in`).
    seconds_until(
        lambda: "llmops.dev/revision-hash" in predictor_annotations(kube, namespace),
        30,
        "the first revision written",
        op,
    )
    first = revision("llm", 1)
    write_kserve_status(kube, namespace, "llm", created=first, ready=first, rolled_out=first)
    wait_for(kube, namespace, "chat", is_succeeded, operator=op)
    before = get_object(kube, namespace, "inferenceservice", "llm")
    assert before["spec"]["predictor"]["canaryTrafficPercent"] == 100

    kube.kubectl("delete", "modeldeployment", "chat", "-n", namespace, "--wait=false")
    seconds_until(lambda: not exists(kube, namespace, "chat"), 30, "the deletion", op)
    # Both revisions it splits traffic between are KServe's, and it was never the operator's:
    # no owner reference (so no garbage collection), the spec exactly as the operator left it.
    after = get_object(kube, namespace, "inferenceservice", "llm")
    assert after["spec"] == before["spec"]
    assert "ownerReferences" not in after["metadata"]


def get_object(kube: Kube, namespace: str, kind: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        kube.kubectl("get", kind, name, "-n", namespace, "-o", "json").stdout
    )
    return data


def predictor_annotations(kube: Kube, namespace: str) -> dict[str, str]:
    predictor = get_object(kube, namespace, "inferenceservice", "llm")["spec"]["predictor"]
    return dict(predictor.get("annotations") or {})


def http_route(kube: Kube, namespace: str, name: str = "llm") -> list[dict[str, Any]]:
    """The rules of the HTTPRoute ``name``."""
    rules: list[dict[str, Any]] = get_object(kube, namespace, "httproute", name)["spec"]["rules"]
    return rules


def ref_names(kube: Kube, namespace: str, name: str) -> list[list[str]]:
    """The backendRefs of each rule of the HTTPRoute ``name``, by Service name."""
    return [[ref["name"] for ref in r["backendRefs"]] for r in http_route(kube, namespace, name)]


def apply_http_route(kube: Kube, namespace: str, name: str) -> None:
    """The user's HTTPRoute ``name``: `USER_RULES`, each forwarding to a placeholder."""
    placeholder = [{"name": "placeholder", "port": 8000}]
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name},
        "spec": {
            "parentRefs": [{"name": "public"}],
            "rules": [{**rule, "backendRefs": placeholder} for rule in USER_RULES],
        },
    }
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(route))


def lease_holder(kube: Kube, namespace: str) -> str:
    found = kube.kubectl("get", "lease", LEASE, "-n", namespace, "-o", "json", check=False)
    return str(json.loads(found.stdout)["spec"].get("holderIdentity", "")) if found.stdout else ""
