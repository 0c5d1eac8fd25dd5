"""Two writers of the one routing table: the operator's write that loses the race is redone.

Every ModelDeployment of a namespace writes its ``routes.<alias>`` into the same ConfigMap.
Here the operator's `GatewayRouter` runs in this process against the real API server, and
another writer (kubectl, standing for a second ModelDeployment's tick) changes or creates the
ConfigMap between the router's read and its write, the race that two first revisions ticking
together hit. The API server refuses the router's write with 409; the router must read again
and write its entry, keeping the other one, within the same call (a failed tick would hold
the rollout for the error backoff).
"""

from __future__ import annotations

from typing import Any

import kubernetes
import pytest
import yaml

from llmops_operator.core.rollout.interface import TrafficShare
from llmops_operator.core.spec.schema import parse_spec, template_of
from llmops_operator.core.state.status import RolloutStatus
from llmops_operator.routers import GatewayRouter
from llmops_operator.settings import OperatorSettings
from tests.cluster.kube import Kube
from tests.cluster.operator.helpers import EXAMPLES, KEEP, routing_table, write_routing_table

SIDE = {"kind": "generate", "backends": [{"name": "side-1", "url": "http://side-1:8000/v1"}]}


@pytest.mark.parametrize("seeded", [True, False], ids=["changed-first", "created-first"])
def test_a_write_refused_for_a_concurrent_one_is_redone_and_keeps_both(
    kube: Kube, namespace: str, monkeypatch: pytest.MonkeyPatch, seeded: bool
) -> None:
    if seeded:
        write_routing_table(kube, namespace, {"keep": KEEP})
    kubernetes.config.load_kube_config(config_file=str(kube.kubeconfig))  # type: ignore[no-untyped-call]
    router = GatewayRouter(OperatorSettings(serve_metrics=False))
    read = router._read
    seen: list[str | None] = []  # resourceVersion of each read (None: no ConfigMap yet)

    def read_then_lose_the_race(ns: str) -> tuple[Any, dict[str, Any]]:
        current, table = read(ns)
        seen.append(current.metadata.resource_version if current is not None else None)
        if len(seen) == 1:  # the other tick writes between this read and the router's write
            write_routing_table(kube, namespace, {**(table.get("routes") or {}), "side": SIDE})
        return current, table

    monkeypatch.setattr(router, "_read", read_then_lose_the_race)
    spec = parse_spec(yaml.safe_load((EXAMPLES / "canary.yaml").read_text())["spec"])
    share = TrafficShare("aaaa1111", "stable", 100, template_of(spec))
    router.apply(namespace, "chat", spec, [share], RolloutStatus())

    assert len(seen) == 2, seen  # one refused write, one that went through
    assert seen[0] != seen[1]
    routes = routing_table(kube, namespace)["routes"]
    expected = {"side", spec.alias} | ({"keep"} if seeded else set())
    assert set(routes) == expected
    assert routes["side"] == SIDE
    assert [b["name"] for b in routes[spec.alias]["backends"]] == ["chat-aaaa1111"]
