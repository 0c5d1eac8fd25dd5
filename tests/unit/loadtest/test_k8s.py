"""The in-cluster Job builder: valid 1.35 manifests, restricted, and the verdict contract."""

from __future__ import annotations

import dataclasses
import json

import kubernetes_validate  # type: ignore[import-untyped]

from llmops_loadtest.k8s.job import LoadtestJobSpec, build_loadtest_job
from llmops_loadtest.k8s.verdict import build_verdict_configmap

SPEC = LoadtestJobSpec(
    name="gemma-canary-gate",
    namespace="llm",
    image="ghcr.io/example/llmops:0.1.0",
    target_url="http://gemma-canary.llm:8000",
    profile_yaml="name: smoke\n",
    gate_yaml="slos: ['error_ratio <= 0.01']\n",
    duration_s=120,
    workers=2,
)


def test_every_manifest_validates_strictly_against_kubernetes_1_35() -> None:
    for manifest in build_loadtest_job(SPEC):
        kubernetes_validate.validate(manifest, "1.35.0", strict=True)


def test_the_job_runs_the_cli_once_against_the_service() -> None:
    job = build_loadtest_job(SPEC)[-1]
    assert job["spec"]["backoffLimit"] == 0
    container = job["spec"]["template"]["spec"]["containers"][0]
    command = container["command"]
    assert command[:2] == ["llmops-loadtest", "run"]
    assert command[command.index("--target") + 1] == "http://gemma-canary.llm:8000"
    assert command[command.index("--verdict-configmap") + 1] == "gemma-canary-gate-verdict"
    assert command[command.index("--workers") + 1] == "2"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_the_role_may_update_only_the_verdict_configmap_and_create_nothing() -> None:
    role = next(m for m in build_loadtest_job(SPEC) if m["kind"] == "Role")
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["gemma-canary-gate-verdict"],
            "verbs": ["get", "update", "patch"],
        }
    ]


def test_the_verdict_configmap_exists_pending_before_the_job_runs() -> None:
    manifests = build_loadtest_job(SPEC)
    kinds = [(m["kind"], m["metadata"]["name"]) for m in manifests]
    assert kinds.index(("ConfigMap", "gemma-canary-gate-verdict")) < kinds.index(
        ("Job", "gemma-canary-gate")
    )
    pending = manifests[kinds.index(("ConfigMap", "gemma-canary-gate-verdict"))]
    assert pending["data"]["passed"] == "pending"


def test_the_verdict_configmap_carries_pass_headline_and_json() -> None:
    report = {
        "verdict": {"passed": False, "headline": "FAIL: ttft_p95_s <= 0.5 (observed 0.9)",
                    "slos": []},
        "versions": {"target": {"models": [{"id": "gemma-3-270m"}]}},
        "profile": {"name": "smoke"},
    }  # fmt: skip
    configmap = build_verdict_configmap("v", "llm", report)
    kubernetes_validate.validate(configmap, "1.35.0", strict=True)
    assert configmap["data"]["passed"] == "false"
    assert json.loads(configmap["data"]["verdict.json"])["verdict"]["passed"] is False
    errored = build_verdict_configmap("v", "llm", None, error="target x: unreachable")
    assert errored["data"] == {
        "passed": "error",
        "headline": "target x: unreachable",
        "verdict.json": '{"error": "target x: unreachable"}',
    }


def test_the_job_lands_where_it_is_placed_and_passes_extra_flags() -> None:
    placed = dataclasses.replace(
        SPEC,
        node_selector={"llmops.dev/node": "real"},
        tolerations=[{"key": "llmops.dev/real-node", "operator": "Exists"}],
        extra_args=("--mlflow-uri", "http://mlflow:5000", "--mlflow-model", "gemma/3"),
    )
    job = build_loadtest_job(placed)[-1]
    kubernetes_validate.validate(job, "1.35.0", strict=True)
    pod = job["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"llmops.dev/node": "real"}
    assert pod["tolerations"] == [{"key": "llmops.dev/real-node", "operator": "Exists"}]
    assert pod["containers"][0]["command"][-4:] == list(placed.extra_args)
    assert "nodeSelector" not in build_loadtest_job(SPEC)[-1]["spec"]["template"]["spec"]


def test_the_verdict_configmap_keeps_the_summary_people_read() -> None:
    report = {"verdict": {"passed": True, "headline": "PASS (2/2 SLOs met)"},
              "profile": {"name": "smoke"}}  # fmt: skip
    configmap = build_verdict_configmap("v", "llm", report, summary="# Load test\nPASS\n")
    assert configmap["data"]["summary.md"] == "# Load test\nPASS\n"
    assert "summary.md" not in build_verdict_configmap("v", "llm", report)["data"]
