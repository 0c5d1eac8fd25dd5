"""What a set of NetworkPolicy objects allows (pure), for policy tests where the local CNI
does not enforce them.

Kubernetes semantics, for the subset the charts use: a pod selected by any policy with
``Ingress`` (``Egress``) in its ``policyTypes`` is isolated in that direction, and a connection
is then allowed only when some rule of some such policy admits the peer and the port; a pod no
policy selects is open. A connection needs both the source's egress and the destination's
ingress. Peers: ``podSelector`` (same namespace as the policy unless a ``namespaceSelector``
is given with it), ``namespaceSelector``, and ``ipBlock`` (treated as "outside the cluster").
Selectors: ``matchLabels`` and ``matchExpressions`` (In, NotIn, Exists, DoesNotExist).
Ports: number and protocol (TCP when unset); named ports and ``endPort`` are not used here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Labels = Mapping[str, str]


@dataclass(frozen=True)
class Pod:
    """A pod as the policies see it: its namespace (and that namespace's labels) and labels."""

    namespace: str
    labels: Labels
    namespace_labels: Labels = field(default_factory=dict)

    def ns_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace, **self.namespace_labels}


def matches(selector: Mapping[str, Any] | None, labels: Labels) -> bool:
    """Whether a label selector selects ``labels`` (an empty selector selects everything)."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(operator)
        if ok is None:
            raise ValueError(f"unknown selector operator {operator!r}")
        if not ok:
            return False
    return True


def _peer_admits(peer: Mapping[str, Any], policy_ns: str, other: Pod | None) -> bool:
    if other is None:  # outside the cluster
        return "ipBlock" in peer
    if "ipBlock" in peer:
        return False
    ns_selector = peer.get("namespaceSelector")
    if ns_selector is not None:
        if not matches(ns_selector, other.ns_labels()):
            return False
    elif other.namespace != policy_ns:
        return False
    pod_selector = peer.get("podSelector")
    return pod_selector is None or matches(pod_selector, other.labels)


def _ports_admit(ports: Sequence[Mapping[str, Any]] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    return any(
        p.get("port") in (None, port) and p.get("protocol", "TCP") == protocol for p in ports
    )


def _rule_admits(  # noqa: PLR0917
    rule: Mapping[str, Any],
    peers_key: str,
    policy_ns: str,
    other: Pod | None,
    port: int,
    proto: str,
) -> bool:
    peers = rule.get(peers_key)
    peer_ok = not peers or any(_peer_admits(peer, policy_ns, other) for peer in peers)
    return peer_ok and _ports_admit(rule.get("ports"), port, proto)


def _direction_allows(  # noqa: PLR0917
    policies: Sequence[Mapping[str, Any]],
    default_namespace: str,
    pod: Pod,
    other: Pod | None,
    direction: str,
    port: int,
    protocol: str,
) -> bool:
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [
        p
        for p in policies
        if p["metadata"].get("namespace", default_namespace) == pod.namespace
        and matches(p["spec"].get("podSelector", {}), pod.labels)
        and direction in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not selecting:
        return True
    return any(
        _rule_admits(rule, peers_key, pod.namespace, other, port, protocol)
        for policy in selecting
        for rule in policy["spec"].get(rules_key) or []
    )


def is_allowed(  # noqa: PLR0917 (a connection has this many parts)
    policies: Sequence[Mapping[str, Any]],
    source: Pod | None,
    destination: Pod | None,
    port: int,
    protocol: str = "TCP",
    default_namespace: str = "default",
) -> bool:
    """Whether ``source`` may open a connection to ``destination:port`` (None: outside the
    cluster). Policies without a namespace (``helm template``) are in ``default_namespace``."""
    egress_ok = source is None or _direction_allows(
        policies, default_namespace, source, destination, "Egress", port, protocol
    )
    ingress_ok = destination is None or _direction_allows(
        policies, default_namespace, destination, source, "Ingress", port, protocol
    )
    return egress_ok and ingress_ok
