"""Deleting a ModelDeployment routed through the user's own objects, or moving it to another
HTTPRoute, takes its refs out and leaves those objects as the user wrote them: an HTTPRoute
keeps its rules without our backendRefs, a KServe InferenceService its spec.

The real operator runs as the chart's ServiceAccount against the real API server, with the
Gateway API's and KServe's CRDs installed (no controller of theirs runs). The routing
table's side (the gateway router) is in `test_deletion.py`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.kube import Kube
from tests.cluster.operator.conftest import Operator
from tests.cluster.operator.helpers import (
    apply_md,
    backend_names,
    events_of,
    exists,
    is_succeeded,
    seconds_until,
    seed_routing_table,
    start_operator,
    wait_for,
)
from tests.cluster.operator.kserve_stand_in import revision, write_kserve_status
from tests.cluster.operator.third_party_crds import (
    GATEWAY_API_HTTPROUTE,
    KSERVE_INFERENCESERVICE,
    install_crd,
)

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


@pytest.fixture(scope="session")
def gateway_api_crd(kube: Kube) -> None:
    install_crd(kube, GATEWAY_API_HTTPROUTE)


@pytest.fixture(scope="session")
def kserve_crd(kube: Kube) -> None:
    install_crd(kube, KSERVE_INFERENCESERVICE)


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
