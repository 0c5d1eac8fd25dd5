"""The release manifest's pure core: workloads read from the API's JSON, `release verify`'s
comparison (a changed value, image or chart version is each named) and `replay`'s."""

from __future__ import annotations

from typing import Any

import pytest

from llmops_contracts.evaluation import RagEvalReport, RagMetrics
from llmops_contracts.release import (
    ImageRef,
    ModelRecord,
    ReleaseManifest,
    Workload,
    configmap_dataset,
    differences,
    digest_of,
    evaluation_record_of,
    manifest_digest,
    metric_mismatches,
    parse_manifest,
    workload_of,
)

DIGEST = "sha256:" + "a" * 64


def deployment(
    name: str, image: str, *, chart: str = "rag-gateway-0.1.0", values: str = "h1"
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {"helm.sh/chart": chart, "app.kubernetes.io/part-of": "llmops"},
            "annotations": {"llmops.dev/values-hash": values},
        },
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"spec": {"containers": [{"name": "gateway", "image": image}]}},
        },
    }


def pod(app: str, image: str, image_id: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}},
        "status": {"containerStatuses": [{"name": "gateway", "image": image, "imageID": image_id}]},
    }


MANIFEST = ReleaseManifest(
    model_deployment="ns/chat",
    revision="2",
    revision_hash="abcd1234",
    model=ModelRecord(name="gemma", revision="2", uri="hf://google/gemma-3-270m", version="2"),
    engine_args={"dtype": "bfloat16"},
    workloads=[
        Workload(
            name="gw",
            chart="rag-gateway-0.1.0",
            values_hash="h1",
            images={"gateway": ImageRef(image="llmops/gateway:1", digest=DIGEST)},
        ),
    ],
)


def test_a_pods_image_id_gives_the_digest_and_other_pods_are_not_read() -> None:
    pods = [
        pod("gw", "llmops/gateway:1", f"docker.io/llmops/gateway@{DIGEST}"),
        pod("other", "llmops/gateway:1", "sha256:" + "b" * 64),
    ]
    seen = workload_of(deployment("gw", "llmops/gateway:1"), pods)
    assert seen == MANIFEST.workloads[0]
    assert digest_of("") == "" and digest_of(DIGEST) == DIGEST


def test_what_matches_has_no_difference() -> None:
    assert differences(MANIFEST, MANIFEST.model_copy(update={"recorded_at": ""})) == []


def test_a_changed_value_image_and_chart_version_are_each_named() -> None:
    changed = Workload(
        name="gw",
        chart="rag-gateway-0.2.0",
        values_hash="h2",
        images={"gateway": ImageRef(image="llmops/gateway:2")},
    )
    running = MANIFEST.model_copy(update={"workloads": [changed]})
    assert [str(d) for d in differences(MANIFEST, running)] == [
        "workloads.gw.chart: manifest 'rag-gateway-0.1.0', running 'rag-gateway-0.2.0'",
        "workloads.gw.valuesHash: manifest 'h1', running 'h2'",
        "workloads.gw.images.gateway: manifest 'llmops/gateway:1', running 'llmops/gateway:2'",
    ]


def test_the_same_tag_pulled_to_other_content_is_a_digest_difference() -> None:
    other = "sha256:" + "c" * 64
    moved = MANIFEST.workloads[0].model_copy(
        update={"images": {"gateway": ImageRef(image="llmops/gateway:1", digest=other)}}
    )
    (found,) = differences(MANIFEST, MANIFEST.model_copy(update={"workloads": [moved]}))
    assert (found.field, found.expected, found.actual) == (
        "workloads.gw.images.gateway.digest",
        repr(DIGEST),
        repr(other),
    )


def test_a_workload_gone_or_added_and_a_changed_revision_or_engine_arg_are_named() -> None:
    extra = Workload(name="chat-ffff0000", images={"vllm": ImageRef(image="vllm:1")})
    running = MANIFEST.model_copy(
        update={"workloads": [extra], "revision_hash": "ffff0000", "engine_args": {"dtype": "half"}}
    )
    assert [(d.field, d.expected, d.actual) for d in differences(MANIFEST, running)] == [
        ("revisionHash", "'abcd1234'", "'ffff0000'"),
        ("engineArgs.dtype", "'bfloat16'", "'half'"),
        ("workloads.chat-ffff0000", "<absent>", "present"),
        ("workloads.gw", "present", "<absent>"),
    ]


def test_the_digest_is_of_the_content_and_the_json_reads_back() -> None:
    again = parse_manifest(MANIFEST.to_json())
    assert again == MANIFEST and manifest_digest(again) == manifest_digest(MANIFEST)
    assert manifest_digest(MANIFEST.model_copy(update={"revision": "3"})) != manifest_digest(
        MANIFEST
    )
    assert '"revisionHash": "abcd1234"' in MANIFEST.to_json()
    with pytest.raises(ValueError, match="revisionHash"):
        parse_manifest(
            '{"modelDeployment": "ns/chat", "revision": "2", "model": '
            '{"name": "g", "revision": "", "uri": ""}}'
        )


def test_replay_compares_deterministic_metrics_exactly_and_leaves_latency_out() -> None:
    metrics = RagMetrics(
        items=4,
        errors=0,
        error_ratio=0.0,
        hit_rate=0.75,
        recall_at_k=0.75,
        mrr=0.5,
        token_f1=0.4,
        latency_p50_seconds=0.2,
        latency_p95_seconds=0.9,
    )
    report = RagEvalReport(
        target="http://gw",
        model="rag",
        top_k=4,
        seed=7,
        dataset_version="v1",
        dataset_sha256="s",
        metrics=metrics,
        checks=[],
        passed=True,
        results=[],
    )
    record = evaluation_record_of(report, dataset="golden.yaml", max_tokens=32)
    assert (record.kind, record.seed, record.top_k, record.dataset) == ("rag", 7, 4, "golden.yaml")
    assert "latency_p95_seconds" not in record.metrics and record.metrics["mrr"] == 0.5
    assert metric_mismatches("rag", record.metrics, dict(record.metrics)) == []
    drifted = {**record.metrics, "token_f1": 0.40000001}
    (found,) = metric_mismatches("rag", record.metrics, drifted)
    assert str(found) == "rag token_f1: recorded 0.4, replayed 0.40000001"


def test_a_dataset_in_the_cluster_is_named_by_configmap_and_key() -> None:
    assert configmap_dataset("configmap:rag-golden/golden.yaml") == ("rag-golden", "golden.yaml")
    assert configmap_dataset("evals/golden.yaml") is None
    with pytest.raises(ValueError, match="configmap:NAME/KEY"):
        configmap_dataset("configmap:rag-golden")
