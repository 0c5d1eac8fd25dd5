"""Giving traffic targets back: which ones (claims) and what is removed there (builders)."""

from __future__ import annotations

from typing import Any

import pytest

from llmops_contracts.routing import parse_routing_table
from llmops_operator.core.manifests.router_weights import (
    build_backend_refs,
    build_http_route_rules,
    build_released_http_route_rules,
)
from llmops_operator.core.manifests.workloads import (
    RoutingTableConflictError,
    build_backends,
    build_released_routing_table,
    build_routing_table,
    is_workload_of,
)
from llmops_operator.core.rollout.claims import (
    Claimant,
    Target,
    release_reason,
    released_targets,
    routed_alias_of,
    routed_http_route_of,
    stale_targets,
    written_targets,
)
from llmops_operator.core.rollout.interface import TrafficShare
from llmops_operator.core.spec.schema import template_of
from llmops_operator.core.state.status import RolloutStatus
from tests.unit.operator.sim import T0, make_spec

CHAT = Target("spec.route.alias", "chat")
MATCHES = [{"path": {"type": "PathPrefix", "value": "/v1"}}]


def md(name: str, *targets: Target, deleting: bool = False, namespace: str = "ns") -> Claimant:
    return Claimant(namespace, name, T0, frozenset(targets), deleting=deleting)


def table_of(md_name: str, alias: str, **rest: Any) -> dict[str, Any]:
    """A routing table whose ``alias`` entry ``md_name`` wrote, plus ``rest`` as is."""
    template = template_of(make_spec())
    shares = [
        TrafficShare("aaaa1111", "stable", 80, template),
        TrafficShare("bbbb2222", "canary", 20, template),
    ]
    return build_routing_table({"routes": rest}, alias, build_backends(md_name, "ns", shares), "")


def test_a_target_nobody_else_claims_is_given_back() -> None:
    others = [md("chat-a", CHAT, deleting=True), md("other", Target("spec.route.alias", "x"))]
    assert released_targets({CHAT}, namespace="ns", name="chat-a", others=others) == {CHAT}


def test_a_target_another_live_claimant_takes_over_is_left_to_it() -> None:
    # chat-a (being deleted) owned the alias; chat-b waits for it and rewrites it next tick
    others = [md("chat-a", CHAT, deleting=True), md("chat-b", CHAT)]
    assert released_targets({CHAT}, namespace="ns", name="chat-a", others=others) == set()
    # a loser being deleted never wrote the target: the owner keeps it
    assert released_targets({CHAT}, namespace="ns", name="chat-b", others=others[:1]) == {CHAT}
    assert released_targets({CHAT}, namespace="ns", name="chat-b", others=[md("chat-a", CHAT)]) == (
        set()
    )


def test_claimants_being_deleted_or_elsewhere_take_nothing_over() -> None:
    others = [md("b", CHAT, deleting=True), md("c", CHAT, namespace="other")]
    assert released_targets({CHAT}, namespace="ns", name="a", others=others) == {CHAT}


def test_the_alias_last_written_is_stale_once_the_spec_routes_elsewhere() -> None:
    spec = make_spec(route={"alias": "chat"})
    assert routed_alias_of(spec) == "chat"
    assert stale_targets(spec, RolloutStatus()) == []  # never written (or an older operator)
    assert stale_targets(spec, RolloutStatus(routed_alias="chat")) == []
    old = Target("spec.route.alias", "old")
    assert stale_targets(spec, RolloutStatus(routed_alias="old")) == [old]
    assert release_reason(old, spec) == (
        "AliasReleased",
        "routes.old removed from the routing table: spec.route.alias is now 'chat'",
    )
    http = make_spec(route={"router": "httpRoute", "httpRoute": "llm", "alias": "chat"})
    assert routed_alias_of(http) is None
    assert stale_targets(http, RolloutStatus(routed_alias="chat")) == [CHAT]
    assert release_reason(CHAT, http)[1] == (
        "routes.chat removed from the routing table: traffic goes through route.router "
        "httpRoute now"
    )


def test_the_http_route_last_written_is_stale_once_renamed_or_the_router_changes() -> None:
    http = make_spec(route={"router": "httpRoute", "httpRoute": "llm-v2", "alias": "chat"})
    assert routed_http_route_of(http) == "llm-v2"
    assert stale_targets(http, RolloutStatus(routed_http_route="llm-v2")) == []
    old = Target("spec.route.httpRoute", "llm")
    assert stale_targets(http, RolloutStatus(routed_http_route="llm")) == [old]
    assert release_reason(old, http) == (
        "HTTPRouteReleased",
        "this ModelDeployment's backendRefs removed from HTTPRoute 'llm': "
        "spec.route.httpRoute is now 'llm-v2'",
    )
    # back to the gateway: both the refs and no alias entry (none was written) are stale
    gateway = make_spec(route={"alias": "chat"})
    assert routed_http_route_of(gateway) is None
    assert stale_targets(gateway, RolloutStatus(routed_http_route="llm")) == [old]
    assert release_reason(old, gateway)[1].endswith("traffic goes through route.router gateway now")
    # from the gateway to a renamed HTTPRoute at once: the alias goes first
    both = RolloutStatus(routed_alias="chat", routed_http_route="llm")
    assert stale_targets(http, both) == [CHAT, old]


def test_a_deleted_model_deployment_may_have_written_its_target_and_its_last_alias() -> None:
    spec = make_spec(route={"alias": "new"})
    status = RolloutStatus(routed_alias="old")
    assert written_targets(spec, status) == {
        Target("spec.route.alias", "new"),
        Target("spec.route.alias", "old"),
    }
    # a spec that no longer parses: only what the status remembers
    assert written_targets(None, status) == {Target("spec.route.alias", "old")}
    both = RolloutStatus(routed_alias="old", routed_http_route="llm")
    assert written_targets(None, both) == {
        Target("spec.route.alias", "old"),
        Target("spec.route.httpRoute", "llm"),
    }
    assert written_targets(None, RolloutStatus()) == set()


def test_workload_names_belong_to_exactly_one_model_deployment() -> None:
    assert is_workload_of("chat-aaaa1111", "chat")
    assert not is_workload_of("chat-b-aaaa1111", "chat")
    assert is_workload_of("chat-b-aaaa1111", "chat-b")
    assert not is_workload_of("chat", "chat")
    assert not is_workload_of("chat-", "chat")


def test_releasing_removes_only_the_entry_this_model_deployment_wrote() -> None:
    other = {"kind": "generate", "backends": [{"name": "x", "url": "http://x/v1", "model": "m"}]}
    table = table_of("chat", "chat", keep=other)
    released = build_released_routing_table(table, "chat", "chat")
    assert released is not None
    assert released["routes"] == {"keep": other}
    assert set(parse_routing_table(released).routes) == {"keep"}  # the gateway accepts it
    # chat-b did not write it; a missing entry, table or ConfigMap: nothing to do
    assert build_released_routing_table(table, "chat", "chat-b") is None
    assert build_released_routing_table(released, "chat", "chat") is None
    assert build_released_routing_table(None, "chat", "chat") is None


def test_an_alias_another_route_embeds_with_is_kept() -> None:
    rag_template = template_of(make_spec(route={"rag": {"collection": "c", "embedder": "embed"}}))
    rag = build_backends("rag", "ns", [TrafficShare("cccc3333", "stable", 100, rag_template)])
    table = build_routing_table(table_of("embedder", "embed"), "docs", rag, "")
    with pytest.raises(RoutingTableConflictError, match=r"routes\.docs use it as rag\.embedder"):
        build_released_routing_table(table, "embed", "embedder")


def test_releasing_an_http_route_keeps_the_users_rules_and_refs() -> None:
    shares = [TrafficShare("aaaa1111", "stable", 100, None)]
    ours = build_backend_refs("chat", 8000, shares)
    foreign = {"name": "static", "port": 80}
    rules = build_http_route_rules([{"matches": MATCHES, "filters": []}], ours)
    rules.append({"matches": MATCHES, "backendRefs": [*ours, foreign]})
    released = build_released_http_route_rules(rules, "chat")
    assert released == [
        {"matches": MATCHES, "filters": []},  # no ref left: the rule forwards nothing
        {"matches": MATCHES, "backendRefs": [foreign]},
    ]
    assert build_released_http_route_rules(released, "chat") is None
    assert build_released_http_route_rules(rules, "chat-b") is None
    assert build_released_http_route_rules(None, "chat") is None
