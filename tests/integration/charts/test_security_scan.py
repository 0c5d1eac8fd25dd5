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


def test_should_leave_no_checkov_finding_unexplained(verdict: Verdict) -> None:
    assert [f.one_line() for f in verdict.unexplained] == []
    assert verdict.findings  # the scan ran: the allow-listed findings are there


def test_should_keep_no_stale_entry_in_the_allow_list(verdict: Verdict) -> None:
    assert list(verdict.stale) == []


def test_should_give_a_reason_for_every_allow_listed_check() -> None:
    entries = load_allowlist(ALLOWLIST_PATH)

    assert entries
    assert all(len(entry.reason.split()) >= 10 for entry in entries)
