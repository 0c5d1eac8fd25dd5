"""checkov's helm scan of every chart: each finding is fixed or explained in the allow-list."""

from __future__ import annotations

import pytest

from llmops_infra.charts.scan import ALLOWLIST_PATH, Verdict, load_allowlist, scan
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings, base_env
from llmops_infra.toolchain import ensure_tools


@pytest.fixture(scope="module")
def verdict() -> Verdict:
    settings = LocalSettings()
    try:
        ensure_tools(settings)  # checkov renders each chart with the pinned helm
        return scan(settings, base_env())
    except LlmopsError as err:
        pytest.fail(f"the security scan could not run: {err.one_line()}", pytrace=False)


# Values a platform team turns on: what they render must meet the same bar as the defaults.
NON_DEFAULT = {
    "rag-gateway": {
        "ingress": {"enabled": True},
        "autoscaling": {"enabled": True},
        "metrics": {"serviceMonitor": {"enabled": True}},
        "auth": {"existingSecret": "llmops-keys"},
        "networkPolicy": {"extraEgress": [{"to": [{"namespaceSelector": {}}]}]},
    },
    "llm-inference": {
        "modelCache": {"enabled": False},
        "metrics": {"serviceMonitor": {"enabled": True}},
    },
    "llmops-operator": {
        "watch": {"scope": "namespaced", "namespaces": ["team-a"]},
        "metrics": {"serviceMonitor": {"enabled": True}},
    },
}


@pytest.fixture(scope="module")
def non_default_verdict() -> Verdict:
    settings = LocalSettings()
    try:
        ensure_tools(settings)
        return scan(settings, base_env(), overrides=NON_DEFAULT)
    except LlmopsError as err:
        pytest.fail(f"the security scan could not run: {err.one_line()}", pytrace=False)


def test_should_leave_no_checkov_finding_unexplained_with_non_default_values(
    non_default_verdict: Verdict,
) -> None:
    assert [f.one_line() for f in non_default_verdict.unexplained] == []
    assert {f.chart for f in non_default_verdict.findings} <= set(NON_DEFAULT)
    assert non_default_verdict.findings  # the scan ran


def test_should_leave_no_checkov_finding_unexplained(verdict: Verdict) -> None:
    assert [f.one_line() for f in verdict.unexplained] == []
    assert verdict.findings  # the scan ran: the allow-listed findings are there


def test_should_keep_no_stale_entry_in_the_allow_list(verdict: Verdict) -> None:
    assert list(verdict.stale) == []


def test_should_give_a_reason_for_every_allow_listed_check() -> None:
    entries = load_allowlist(ALLOWLIST_PATH)

    assert entries
    assert all(len(entry.reason.split()) >= 10 for entry in entries)
