"""Judging checkov findings against the allow-list (pure: no checkov run)."""

from __future__ import annotations

import json

import pytest

from llmops_infra.charts.scan import Finding, judge, parse_allowlist, parse_report
from llmops_infra.errors import LlmopsError

ALLOW = parse_allowlist(
    [
        {"checks": ["CKV_K8S_21"], "where": ["*"], "reason": "namespace comes from helm"},
        {
            "checks": ["CKV_K8S_38"],
            "where": ["llmops-operator/templates/deployment.yaml:Deployment"],
            "reason": "the operator calls the API server",
        },
    ]
)


def finding(check: str, template: str, kind: str = "Deployment") -> Finding:
    return Finding(check, "a check", template, kind)


def test_should_explain_a_finding_that_an_entry_names_by_check_and_location() -> None:
    found = [
        finding("CKV_K8S_21", "milvus/templates/service.yaml", "Service"),
        finding("CKV_K8S_38", "llmops-operator/templates/deployment.yaml"),
    ]

    assert judge(found, ALLOW).ok


def test_should_report_a_finding_of_an_allowed_check_at_another_location() -> None:
    stray = finding("CKV_K8S_38", "rag-gateway/templates/deployment.yaml")

    verdict = judge(
        [stray, finding("CKV_K8S_38", "llmops-operator/templates/deployment.yaml")], ALLOW
    )

    assert verdict.unexplained == (stray,)


def test_should_report_an_allow_list_pattern_that_matches_no_finding_as_stale() -> None:
    verdict = judge([finding("CKV_K8S_21", "milvus/templates/service.yaml", "Service")], ALLOW)

    assert verdict.stale == ("CKV_K8S_38 llmops-operator/templates/deployment.yaml:Deployment",)


def test_should_count_a_subchart_finding_once_when_the_umbrella_renders_it_too() -> None:
    result = {"check_id": "CKV_K8S_21", "check_name": "a check", "resource": "Service.default.r-m"}
    report = {
        "check_type": "helm",
        "results": {
            "failed_checks": [
                {**result, "file_path": "/milvus/templates/service.yaml"},
                {**result, "file_path": "/llmops-stack/charts/milvus/templates/service.yaml"},
            ]
        },
    }

    findings, charts = parse_report(json.dumps(report))

    assert charts == {"milvus"}
    assert judge(findings, ALLOW).findings == (
        finding("CKV_K8S_21", "milvus/templates/service.yaml", "Service"),
    )


@pytest.mark.parametrize(
    "entry",
    [
        {"checks": ["CKV_K8S_21"], "where": ["*"], "reason": " "},
        {"checks": ["CKV_K8S_21"], "where": ["*"]},
        {"checks": [], "where": ["*"], "reason": "why"},
        {"checks": ["CKV_K8S_21"], "where": "*", "reason": "why"},
    ],
)
def test_should_refuse_an_allow_list_entry_without_checks_patterns_or_reason(
    entry: dict[str, object],
) -> None:
    with pytest.raises(LlmopsError):
        parse_allowlist([entry])
