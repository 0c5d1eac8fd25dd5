"""The local overlay's parts as data: engine claims pre-bound to their volumes, the embedder
release, and the overlay file itself (every pod on the real node, local images only)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from llmops_infra.charts import local, local_install
from llmops_infra.cluster import node_spec
from llmops_operator.core.manifests.workloads import build_pod_spec
from llmops_operator.core.spec.schema import parse_spec, template_of

OVERLAY = Path(__file__).resolve().parents[4] / "charts" / "llmops-stack" / local.OVERLAY_FILE
MOUNTS = [
    local.Mount(Path("/cache/engine/venv"), PurePosixPath("/opt/engine")),
    local.Mount(Path("/py/3.11.7"), PurePosixPath("/opt/engine-python")),
    local.Mount(Path("/cache/models"), PurePosixPath("/opt/models")),
]


def overlay() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(OVERLAY.read_text())
    return loaded


def test_should_pre_bind_one_read_only_volume_to_each_claim_of_the_namespace() -> None:
    objects = local.build_engine_volumes(MOUNTS, "team-a")

    volumes = {o["metadata"]["name"]: o for o in objects if o["kind"] == "PersistentVolume"}
    claims = {o["metadata"]["name"]: o for o in objects if o["kind"] == "PersistentVolumeClaim"}
    assert set(claims) == {"llmops-engine-venv", "llmops-engine-python", "llmops-models"}
    for name, claim in claims.items():
        volume = volumes[claim["spec"]["volumeName"]]
        assert volume["spec"]["claimRef"] == {"namespace": "team-a", "name": name}
        assert volume["spec"]["accessModes"] == ["ReadOnlyMany"]
        assert claim["metadata"]["namespace"] == "team-a"
    assert volumes["llmops-engine-venv-team-a"]["spec"]["hostPath"]["path"] == "/cache/engine/venv"


def test_should_refuse_a_mount_that_no_claim_holds() -> None:
    with pytest.raises(ValueError, match="/opt/other"):
        local.build_engine_volumes([local.Mount(Path("/x"), PurePosixPath("/opt/other"))], "a")


def test_should_put_every_component_and_test_pod_of_the_overlay_on_the_real_node() -> None:
    values = overlay()

    for part in ("llm-inference", "milvus", "mlflow", "rag-gateway", "llmops-operator", "tests"):
        assert values[part]["nodeSelector"] == {node_spec.NODE_LABEL[0]: node_spec.NODE_LABEL[1]}
        (toleration,) = values[part]["tolerations"]
        assert {k: toleration[k] for k in ("key", "value", "effect")} == node_spec.NODE_TAINT
    for part in ("llm-inference", "milvus", "mlflow", "rag-gateway", "llmops-operator"):
        assert values[part]["image"]["repository"].startswith("docker.io/llmops/")
        assert values[part]["image"]["pullPolicy"] == "Never"
    assert values["llm-inference"]["gpu"]["count"] == 0


def test_should_serve_minilm_from_the_venv_claim_with_the_pooling_runner() -> None:
    values = overlay()
    embedder = values["embedder"]

    assert embedder["model"]["uri"] == f"pvc://llmops-engine-venv/{local.EMBED_MODEL_IN_VENV}"
    assert "--runner=pooling" in embedder["engine"]["extraArgs"]
    kv = [e for e in embedder["engine"]["extraEnv"] if e["name"] == "VLLM_CPU_KVCACHE_SPACE"]
    assert kv == [{"name": "VLLM_CPU_KVCACHE_SPACE", "value": "1"}]
    for key in ("image", "gpu", "extraVolumes", "extraVolumeMounts", "nodeSelector", "tolerations"):
        assert embedder[key] == values["llm-inference"][key], key
    # the umbrella's default model name is the one the gateway embeds with
    assert "rag-gateway" not in values or "embedding" not in values["rag-gateway"]


def test_should_build_a_model_deployment_whose_revision_pods_run_like_the_overlays_release() -> (
    None
):
    values = overlay()
    md = local.build_model_deployment(
        values, name="chat", alias="canary", revision="2", steps=[{"setWeight": 50}],
        extra_args=["--max-num-seqs=4"],
    )  # fmt: skip
    template = template_of(parse_spec(md["spec"]))
    pod = build_pod_spec(template, template.model.uri or "")

    chart = values["llm-inference"]
    assert pod["nodeSelector"] == chart["nodeSelector"]
    assert pod["tolerations"] == chart["tolerations"]
    (engine,) = pod["containers"]
    assert engine["image"] == "docker.io/llmops/vllm-cpu:0.32.0"
    assert engine["imagePullPolicy"] == "Never"
    mounts = {m["mountPath"]: m["name"] for m in engine["volumeMounts"]}
    assert {"/opt/engine", "/opt/engine-python", "/mnt/model-source"} <= set(mounts)
    claims = {v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if v["name"] != "dshm"
              and "persistentVolumeClaim" in v}  # fmt: skip
    assert claims == {"llmops-engine-venv", "llmops-engine-python", "llmops-models"}
    assert "--model=/mnt/model-source/gemma-3-270m-f32" in engine["args"]
    assert "--max-num-seqs=4" in engine["args"]
    assert {"name": "VLLM_CPU_KVCACHE_SPACE", "value": "1"} in engine["env"]
    assert "nvidia.com/gpu" not in str(engine["resources"])
    assert md["spec"]["route"]["alias"] == "canary"


def test_a_rebuilt_image_rolls_its_pods_through_a_content_key_annotation() -> None:
    flags = local_install.image_annotations({"rag-gateway": "k1", "vllm-cpu": "k2", "base": "k3"})
    assert flags == [
        "--set-string", "rag-gateway.podAnnotations.llmops\\.dev/image-key=k1",
        "--set-string", "llm-inference.podAnnotations.llmops\\.dev/image-key=k2",
        "--set-string", "embedder.podAnnotations.llmops\\.dev/image-key=k2",
    ]  # fmt: skip
