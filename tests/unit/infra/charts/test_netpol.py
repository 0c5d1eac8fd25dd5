"""The NetworkPolicy evaluator follows Kubernetes' semantics: open until selected, then only
what a rule admits; egress and ingress both needed; selectors, namespaces and ports."""

from __future__ import annotations

from typing import Any

import pytest

from llmops_infra.charts.netpol import Pod, is_allowed, matches

WEB = Pod("app", {"role": "web"})
DB = Pod("app", {"role": "db"})
OTHER_NS = Pod("other", {"role": "web"})


def policy(selector: dict[str, Any], types: list[str], **rules: Any) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "app"},
        "spec": {"podSelector": selector, "policyTypes": types, **rules},
    }


def test_should_leave_pods_that_no_policy_selects_open() -> None:
    assert is_allowed([], WEB, DB, 5432)
    assert is_allowed([policy({"matchLabels": {"role": "x"}}, ["Ingress"])], WEB, DB, 5432)


def test_should_admit_only_the_peers_and_ports_of_the_rules() -> None:
    rule = {"from": [{"podSelector": {"matchLabels": {"role": "web"}}}], "ports": [{"port": 5432}]}
    policies = [policy({"matchLabels": {"role": "db"}}, ["Ingress"], ingress=[rule])]

    assert is_allowed(policies, WEB, DB, 5432)
    assert not is_allowed(policies, WEB, DB, 22)
    assert not is_allowed(policies, OTHER_NS, DB, 5432)  # a bare podSelector is same-namespace
    assert not is_allowed(policies, WEB, DB, 5432, "UDP")
    assert not is_allowed(policies, None, DB, 5432)


def test_should_need_the_sources_egress_too() -> None:
    deny_egress = [policy({}, ["Egress"])]

    assert not is_allowed(deny_egress, WEB, DB, 5432)
    assert is_allowed(deny_egress, OTHER_NS, DB, 5432)  # the policy is in namespace app only


def test_should_match_namespaces_by_their_name_label_and_expressions() -> None:
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}}
    policies = [policy({}, ["Ingress"], ingress=[{"from": [peer]}])]

    assert is_allowed(policies, OTHER_NS, DB, 1)
    assert not is_allowed(policies, WEB, DB, 1)
    expression = {"matchExpressions": [{"key": "role", "operator": "In", "values": ["db", "x"]}]}
    assert matches(expression, {"role": "db"}) and not matches(expression, {"role": "web"})
    with pytest.raises(ValueError, match="operator"):
        matches({"matchExpressions": [{"key": "a", "operator": "Near"}]}, {})
