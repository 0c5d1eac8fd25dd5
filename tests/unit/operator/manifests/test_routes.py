"""What the Gateway API and KServe routers write, as pure data."""

from __future__ import annotations

from typing import Any

import pytest

from llmops_operator.core.manifests.router_weights import (
    build_backend_refs,
    build_canary_traffic_percent,
    build_http_route_rules,
)
from llmops_operator.core.rollout.interface import TrafficShare
from llmops_operator.core.state.phases import Phase

STABLE_80 = TrafficShare("aaa", "stable", 80, None)
CANARY_20 = TrafficShare("bbb", "canary", 20, None)


def test_should_write_one_defaulted_service_ref_per_revision_share() -> None:
    assert build_backend_refs("chat", 8000, [STABLE_80, CANARY_20]) == [
        {"group": "", "kind": "Service", "name": "chat-aaa", "port": 8000, "weight": 80},
        {"group": "", "kind": "Service", "name": "chat-bbb", "port": 8000, "weight": 20},
    ]


def test_should_keep_every_rules_matches_and_replace_only_its_backend_refs() -> None:
    matches = [{"path": {"type": "PathPrefix", "value": "/v1"}}]
    rules: list[dict[str, Any]] = [
        {"matches": matches, "backendRefs": [{"name": "placeholder", "port": 80}]},
        {"matches": [], "timeouts": {"request": "60s"}},
    ]
    refs = build_backend_refs("chat", 8000, [STABLE_80])
    assert build_http_route_rules(rules, refs) == [
        {"matches": matches, "backendRefs": refs},
        {"matches": [], "timeouts": {"request": "60s"}, "backendRefs": refs},
    ]


def test_should_give_a_route_without_rules_one_catch_all_rule() -> None:
    refs = build_backend_refs("chat", 8000, [STABLE_80])
    assert build_http_route_rules(None, refs) == [{"backendRefs": refs}]


@pytest.mark.parametrize(
    ("traffic", "phase", "percent"),
    [
        ((STABLE_80, CANARY_20), Phase.PROGRESSING, 20),
        ((TrafficShare("aaa", "stable", 100, None), TrafficShare("bbb", "preview", 0, None)),
         Phase.PAUSED, 0),
        ((TrafficShare("bbb", "stable", 100, None),), Phase.SUCCEEDED, 100),
        ((TrafficShare("aaa", "stable", 100, None),), Phase.ROLLED_BACK, 0),
        ((TrafficShare("aaa", "stable", 100, None),), Phase.FAILED, 0),
    ],
)  # fmt: skip
def test_should_give_kserves_latest_revision_the_candidates_share_or_all_once_promoted(
    traffic: tuple[TrafficShare, ...], phase: Phase, percent: int
) -> None:
    assert build_canary_traffic_percent(traffic, phase) == percent
