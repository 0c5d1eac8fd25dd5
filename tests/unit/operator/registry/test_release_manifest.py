"""The release manifest the operator builds at promotion, and the one `release verify`
builds from the cluster: the same builder, so an unchanged cluster shows no difference."""

from __future__ import annotations

from typing import Any

from llmops_contracts.release import (
    differences,
    manifest_digest,
    parse_manifest,
    route_of,
    workloads_of,
)
from llmops_operator.core.manifests.release_manifest import (
    build_manifest_config_map,
    build_running_manifest,
    select_release_deployments,
)
from llmops_operator.core.manifests.workloads import (
    build_backends,
    build_deployment_spec,
    build_routing_table,
    workload_name,
)
from llmops_operator.core.registry.manifest import (
    ManifestStatus,
    build_release_manifest,
    should_record_manifest,
    stable_template,
)
from llmops_operator.core.registry.resolution import ModelResolution
from llmops_operator.core.spec.schema import template_hash, template_of
from llmops_operator.core.state.status import LoadTestStatus, LoadTestVerdict
from tests.unit.operator.sim import T0, deployed, make_spec, with_revision

RAG = {
    "alias": "chat",
    "rag": {"collection": "docs-v3", "embedder": "minilm", "template": "rag-v2"},
}
RESOLUTION = ModelResolution(
    ref="models:/gemma@champion",
    tracking_uri="http://mlflow",
    name="gemma",
    version="7",
    source="s3://m/g",
    uri="hf://google/gemma-3-270m",
    resolved_at=T0,
)
GATEWAY: dict[str, Any] = {
    "metadata": {
        "name": "llmops-rag-gateway",
        "labels": {"app.kubernetes.io/part-of": "llmops", "helm.sh/chart": "rag-gateway-0.1.0"},
        "annotations": {"llmops.dev/values-hash": "v1"},
    },
    "spec": {
        "selector": {"matchLabels": {"app": "gw"}},
        "template": {"spec": {"containers": [{"name": "gateway", "image": "gw:0.1.0"}]}},
    },
}


def _world() -> Any:
    return deployed(
        make_spec(
            route=RAG, engine={"replicas": 2, "dtype": "bfloat16", "extraArgs": ["--seed", "0"]}
        )
    )


def _revision_deployments(world: Any, name: str = "chat") -> list[dict[str, Any]]:
    template = template_of(world.spec)
    return [build_deployment_spec(name, world.status.stable_hash, template, 2, "hf://x")]


def test_the_manifest_names_the_revision_the_version_its_tags_and_the_gate() -> None:
    world = _world()
    gate = LoadTestStatus(
        name="lt-1",
        step=3,
        started_at=T0,
        verdict=LoadTestVerdict.PASSED,
        report_url="http://reports/lt-1/report.html",
    )
    manifest = build_release_manifest(
        namespace="ns",
        name="chat",
        status=world.status,
        template=stable_template(world.status),
        resolution=RESOLUTION,
        workloads=workloads_of([GATEWAY], []),
        version_tags={"llmops.model.digest": "sha256:" + "d" * 64, "llmops.prompt.system": "4"},
        load_test=gate,
        recorded_at=T0,
    )
    assert manifest.model_deployment == "ns/chat"
    assert (
        manifest.revision_hash == world.status.stable_hash == template_hash(template_of(world.spec))
    )
    assert (manifest.model.mlflow_ref, manifest.model.version) == ("models:/gemma@champion", "7")
    assert manifest.model.digest == "sha256:" + "d" * 64
    assert manifest.prompt_templates == {"rag": "rag-v2", "system": "4"}
    assert manifest.engine_args["dtype"] == "bfloat16"
    assert manifest.engine_args["extraArgs"] == "--seed 0"
    assert "replicas" not in manifest.engine_args  # scaling is not the release
    assert manifest.rag is not None and manifest.rag.collection == "docs-v3"
    assert manifest.load_test is not None and manifest.load_test.verdict == "Passed"
    assert manifest.workloads[0].chart == "rag-gateway-0.1.0"
    assert manifest.recorded_at == T0.isoformat()


def test_it_is_recorded_once_per_stable_revision_and_not_while_a_candidate_runs() -> None:
    world = _world()
    desired = world.status.stable_hash
    assert should_record_manifest(world.status, None, desired)
    done = ManifestStatus(hash=desired, config_map="chat-release-x", digest="sha256:x")
    assert not should_record_manifest(world.status, done, desired)
    world.spec = with_revision(world.spec, "2")
    world.tick()  # the candidate starts
    new_hash = template_hash(template_of(world.spec))
    assert not should_record_manifest(world.status, done, new_hash)


def test_a_release_is_the_namespaces_llmops_deployments_and_its_own_stable_revision() -> None:
    world = _world()
    own = _revision_deployments(world)
    old = build_deployment_spec("chat", "0ld0ld00", template_of(world.spec), 1, "hf://x")
    other = _revision_deployments(world, name="other")
    foreign = {"metadata": {"name": "someone-else", "labels": {}}}
    every = [GATEWAY, *own, old, *other, foreign]
    names = [
        d["metadata"]["name"]
        for d in select_release_deployments(every, "chat", stable_hash=world.status.stable_hash)
    ]
    assert names == ["llmops-rag-gateway", workload_name("chat", world.status.stable_hash)]
    # verify looks at every revision of its own: a left-over one is a difference
    assert len(select_release_deployments(every, "chat")) == 3


def _routing_table(world: Any) -> dict[str, Any]:
    """The table the operator writes for the stable revision (and the embedder's alias)."""
    embedder = {"backends": [{"name": "e", "url": "http://e/v1", "model": "minilm"}]}
    backends = build_backends("chat", "ns", world.last.traffic)
    return build_routing_table({"routes": {"minilm": embedder}}, "chat", backends, "1")


def test_verify_builds_from_the_cluster_what_the_operator_recorded() -> None:
    world = _world()
    deployments = [GATEWAY, *_revision_deployments(world)]
    table = _routing_table(world)
    recorded = build_release_manifest(
        namespace="ns",
        name="chat",
        status=world.status,
        template=stable_template(world.status),
        resolution=RESOLUTION,
        workloads=workloads_of(
            select_release_deployments(deployments, "chat", world.status.stable_hash), []
        ),
        recorded_at=T0,
        routing=route_of(table, "chat"),
    )
    assert recorded.route is not None and recorded.route.url.startswith("http://chat-")
    assert recorded.rag is not None and recorded.rag.collection == "docs-v3"
    md = {
        "metadata": {"name": "chat", "namespace": "ns"},
        "spec": world.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
        "status": {**world.status.to_raw(), "modelResolution": RESOLUTION.to_raw()},
    }
    assert differences(recorded, build_running_manifest(md, deployments, [], table)) == []

    gateway = {**GATEWAY, "metadata": {**GATEWAY["metadata"], "annotations": {
        "llmops.dev/values-hash": "v2"}}}  # fmt: skip
    changed = build_running_manifest(md, [gateway, *deployments[1:]], [], table)
    assert [d.field for d in differences(recorded, changed)] == [
        "workloads.llmops-rag-gateway.valuesHash"
    ]
    # the routing table edited by hand: retrieval from another collection is named
    backend = table["routes"]["chat"]["backends"][0]
    backend["rag"]["collection"] = "docs-v1"
    elsewhere = build_running_manifest(md, deployments, [], table)
    assert [str(d) for d in differences(recorded, elsewhere)] == [
        "rag.collection: manifest 'docs-v3', running 'docs-v1'"
    ]
    del table["routes"]["chat"]
    unrouted = build_running_manifest(md, deployments, [], table)
    assert "route.url" in [d.field for d in differences(recorded, unrouted)]


def test_the_config_map_holds_the_manifest_under_its_digest() -> None:
    world = _world()
    manifest = build_release_manifest(
        namespace="ns",
        name="chat",
        status=world.status,
        template=stable_template(world.status),
        resolution=None,
        workloads=[],
    )
    digest = manifest_digest(manifest)
    body = build_manifest_config_map("chat", "ns", manifest, digest)
    assert body["metadata"]["name"] == f"chat-release-{world.status.stable_hash}"
    assert body["metadata"]["annotations"]["llmops.dev/manifest-digest"] == digest
    assert manifest_digest(parse_manifest(body["data"]["manifest.json"])) == digest
