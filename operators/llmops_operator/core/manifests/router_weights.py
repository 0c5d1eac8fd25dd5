"""Pure builders of what the third-party routers write: HTTPRoute rules and KServe's
``canaryTrafficPercent``.

HTTPRoute (Gateway API ``v1``): the user owns the route (parentRefs, hostnames, each rule's
matches, filters and timeouts); the operator owns only the ``backendRefs`` of every rule,
one per revision Service (``<modeldeployment>-<hash>``) with the weight the machine decided.
A ref is written in the API server's defaulted form (``group: ""``, ``kind: Service``) so a
read-back compares equal and an unchanged route is never written again. When the
ModelDeployment goes, `build_released_http_route_rules` takes exactly those refs out again.

KServe (``serving.kserve.io/v1beta1``): one InferenceService holds both revisions, and
``spec.predictor.canaryTrafficPercent`` is the share of its *latest* revision (the candidate
we roll out); the rest goes to the previously rolled-out one. What else the operator writes
there, and how KServe's status becomes the machine's observations: `core.manifests.kserve`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmops_operator.core.manifests.workloads import is_workload_of, workload_name
from llmops_operator.core.rollout.interface import TrafficShare
from llmops_operator.core.state.phases import Phase


def build_backend_refs(
    md_name: str, port: int, traffic: Sequence[TrafficShare]
) -> list[dict[str, Any]]:
    """One Service backendRef per revision that has a share (weight 0 included)."""
    return [
        {
            "group": "",
            "kind": "Service",
            "name": workload_name(md_name, share.revision_hash),
            "port": port,
            "weight": share.weight,
        }
        for share in traffic
    ]


def build_http_route_rules(
    rules: Sequence[Mapping[str, Any]] | None, backend_refs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every rule keeps its matches, filters and timeouts and gets exactly our backendRefs;
    a route without rules gets one catch-all rule."""
    if not rules:
        return [{"backendRefs": backend_refs}]
    return [{**rule, "backendRefs": backend_refs} for rule in rules]


def build_released_http_route_rules(
    rules: Sequence[Mapping[str, Any]] | None, md_name: str
) -> list[dict[str, Any]] | None:
    """Every rule without ``md_name``'s Service backendRefs (matches, filters, timeouts and
    any other ref stay; a rule left without refs loses the key: it forwards nothing); None
    when no rule has one of its refs."""
    released: list[dict[str, Any]] = []
    changed = False
    for rule in rules or []:
        refs = list(rule.get("backendRefs") or [])
        kept = [ref for ref in refs if not _is_service_of(ref, md_name)]
        if len(kept) == len(refs):
            released.append(dict(rule))
            continue
        changed = True
        rest = {key: value for key, value in rule.items() if key != "backendRefs"}
        released.append({**rest, "backendRefs": kept} if kept else rest)
    return released if changed else None


def _is_service_of(ref: Mapping[str, Any], md_name: str) -> bool:
    is_service = ref.get("group", "") == "" and ref.get("kind", "Service") == "Service"
    return is_service and is_workload_of(str(ref.get("name", "")), md_name)


def build_canary_traffic_percent(traffic: Sequence[TrafficShare], phase: Phase | None) -> int:
    """The latest revision's percent: the candidate's weight while one is in the traffic;
    0 after a rollback or failure (the rejected candidate is still KServe's latest); 100
    otherwise (the promoted candidate, or a first revision, is the latest)."""
    candidate = next((share.weight for share in traffic if share.role != "stable"), None)
    if candidate is not None:
        return candidate
    if phase in (Phase.ROLLED_BACK, Phase.FAILED):
        return 0
    return 100
