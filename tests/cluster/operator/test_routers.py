"""The Gateway API router against the real API server and the real CRD.

The CRD comes from the pinned upstream Go module (`third_party_crds`); no Gateway controller
runs, so what is checked is what the operator writes: the HTTPRoute's backendRefs weights,
through every setWeight step, a promotion and an abort. The operator runs as the chart's
ServiceAccount, so the chart's RBAC for HTTPRoutes is proven too. The KServe router, which
runs no revisions of its own, is `test_kserve`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import Operator
from tests.cluster.operator.helpers import apply_example, plugin, set_revision, wait_for
from tests.cluster.operator.third_party_crds import GATEWAY_API_HTTPROUTE, install_crd

# 20 % for 1 s, then 50 % until promoted: every weight is held long enough to be seen.
STEPS = [{"setWeight": 20}, {"pause": {"duration": "1s"}}, {"setWeight": 50}, {"pause": {}}]
ROUTE = "llm"
MATCHES = [{"path": {"type": "PathPrefix", "value": "/v1"}}]


@pytest.fixture(scope="session")
def gateway_api_crd(kube: Kube) -> None:
    install_crd(kube, GATEWAY_API_HTTPROUTE)


def get_object(kube: Kube, namespace: str, kind: str, name: str) -> dict[str, Any]:
    out = kube.kubectl("get", kind, name, "-n", namespace, "-o", "json").stdout
    data: dict[str, Any] = json.loads(out)
    return data


def route_weights(kube: Kube, namespace: str) -> list[dict[str, int]]:
    """Per rule: backend Service name -> weight."""
    rules = get_object(kube, namespace, "httproute", ROUTE)["spec"]["rules"]
    return [{ref["name"]: ref["weight"] for ref in rule.get("backendRefs", [])} for rule in rules]


def watch_until(
    kube: Kube,
    namespace: str,
    name: str,
    read: Callable[[], Any],
    *,
    done: Callable[[dict[str, Any]], bool],
    operator: Operator,
    timeout: float = 30,
) -> list[Any]:
    """Every distinct value ``read`` returned, in order, until the status is ``done``."""
    seen: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = read()
        if not seen or seen[-1] != value:
            seen.append(value)
        status = get_object(kube, namespace, "modeldeployment", name).get("status") or {}
        if done(status):
            return seen
        time.sleep(0.3)
    raise AssertionError(f"timed out; seen {seen}\n{operator.log.read_text()[-3000:]}")


def is_paused_at_50(status: dict[str, Any]) -> bool:
    return status.get("phase") == "Paused" and status.get("canaryWeight") == 50


def is_promoted_to_2(status: dict[str, Any]) -> bool:
    return status.get("phase") == "Succeeded" and status.get("stableRevision") == "2"


def test_httproute_weights_follow_the_canary_steps_then_promotion_then_abort(
    kube: Kube, namespace: str, gateway_api_crd: None, chart_operator_process: Operator
) -> None:
    operator = chart_operator_process
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": ROUTE},
        "spec": {
            "parentRefs": [{"name": "public"}],
            "rules": [
                {
                    "matches": MATCHES,
                    "backendRefs": [{"name": "placeholder", "port": 8000}],
                }
            ],
        },
    }
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(route))
    name = apply_example(
        kube,
        namespace,
        "canary.yaml",
        route__router="httpRoute",
        route__httpRoute=ROUTE,
        strategy__canary__steps=STEPS,
        engine__replicas=1,  # one replica per revision: fewer pods to become Ready
    )
    first = wait_for(
        kube, namespace, name, lambda s: s.get("phase") == "Succeeded", operator=operator
    )
    v1 = f"{name}-{first['stableHash']}"
    assert route_weights(kube, namespace) == [{v1: 100}]
    kept = get_object(kube, namespace, "httproute", ROUTE)["spec"]
    assert kept["parentRefs"][0]["name"] == "public"
    assert kept["rules"][0]["matches"] == MATCHES  # the user's rule stays, only refs change

    set_revision(kube, namespace, name, "2")
    seen = watch_until(
        kube,
        namespace,
        name,
        lambda: route_weights(kube, namespace),
        done=is_paused_at_50,
        operator=operator,
    )
    v2 = f"{name}-{get_object(kube, namespace, 'modeldeployment', name)['status']['canaryHash']}"
    assert [{v1: 80, v2: 20}] in seen
    assert seen[-1] == [{v1: 50, v2: 50}]
    assert plugin(kube, "promote", name, "-n", namespace).returncode == 0
    wait_for(kube, namespace, name, is_promoted_to_2, operator=operator)
    assert route_weights(kube, namespace) == [{v2: 100}]

    set_revision(kube, namespace, name, "3")
    wait_for(kube, namespace, name, is_paused_at_50, operator=operator)
    assert plugin(kube, "abort", name, "-n", namespace).returncode == 0
    wait_for(kube, namespace, name, lambda s: s.get("phase") == "RolledBack", operator=operator)
    assert route_weights(kube, namespace) == [{v2: 100}]
