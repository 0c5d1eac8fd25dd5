"""charts/llm-inference: each documented value changes what it should."""

from __future__ import annotations

from typing import Any

from tests.integration.charts.render import Charts, find, kinds

CHART = "llm-inference"


def engine(charts: Charts, values: dict[str, Any] | None = None) -> dict[str, Any]:
    deploy = find(charts.render(CHART, values), "Deployment")
    container: dict[str, Any] = deploy["spec"]["template"]["spec"]["containers"][0]
    return container


def test_should_request_2_gpus_when_tensor_parallel_size_is_2(charts: Charts) -> None:
    container = engine(charts, {"engine": {"tensorParallelSize": 2}})

    assert container["resources"]["requests"]["nvidia.com/gpu"] == 2
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 2
    assert "--tensor-parallel-size=2" in container["args"]


def test_should_size_shared_memory_for_tensor_parallelism(charts: Charts) -> None:
    deploy = find(charts.render(CHART, {"engine": {"tensorParallelSize": 4}}), "Deployment")
    dshm = next(v for v in deploy["spec"]["template"]["spec"]["volumes"] if v["name"] == "dshm")

    assert dshm["emptyDir"] == {"medium": "Memory", "sizeLimit": "8Gi"}


def test_should_render_engine_values_as_cli_flags(charts: Charts) -> None:
    values = {
        "engine": {
            "maxModelLen": 4096,
            "dtype": "float16",
            "gpuMemoryUtilization": 0.8,
            "quantization": "awq",
            "extraArgs": ["--enable-prefix-caching"],
        }
    }
    args = engine(charts, values)["args"]

    for flag in (
        "--max-model-len=4096",
        "--dtype=float16",
        "--gpu-memory-utilization=0.8",
        "--quantization=awq",
        "--enable-prefix-caching",
    ):
        assert flag in args


def test_should_omit_optional_flags_when_unset(charts: Charts) -> None:
    args = " ".join(engine(charts)["args"])

    assert "--max-model-len" not in args
    assert "--quantization" not in args


def test_should_serve_the_model_uri_by_scheme(charts: Charts) -> None:
    hf = engine(charts, {"model": {"name": "m", "revision": "1", "uri": "hf://org/model"}})
    s3 = engine(charts, {"model": {"name": "m", "revision": "1", "uri": "s3://bucket/m/v1"}})
    pvc = engine(charts, {"model": {"name": "m", "revision": "1", "uri": "pvc://weights/m/v1"}})

    assert "--model=org/model" in hf["args"]
    assert {"--model=s3://bucket/m/v1", "--load-format=runai_streamer"} <= set(s3["args"])
    assert "--model=/mnt/model-source/m/v1" in pvc["args"]
    assert {"name": "model-source", "mountPath": "/mnt/model-source", "readOnly": True} in pvc[
        "volumeMounts"
    ]


def test_should_label_objects_with_model_and_revision_but_keep_selectors_stable(
    charts: Charts,
) -> None:
    deploy = find(
        charts.render(CHART, {"model": {"name": "m", "revision": "7", "uri": "hf://o/m"}}),
        "Deployment",
    )

    assert deploy["metadata"]["labels"]["llmops.dev/model"] == "m"
    assert deploy["spec"]["template"]["metadata"]["labels"]["llmops.dev/revision"] == "7"
    assert deploy["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "llm-inference",
        "app.kubernetes.io/instance": "r",
    }


def test_should_give_slow_model_loads_a_startup_budget_before_liveness(charts: Charts) -> None:
    container = engine(charts, {"probes": {"startupBudgetSeconds": 3600, "periodSeconds": 10}})

    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert container["startupProbe"]["failureThreshold"] * 10 >= 3600
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"


def test_should_keep_weights_on_a_pvc_by_default_and_emptydir_when_disabled(
    charts: Charts,
) -> None:
    pvc = find(charts.render(CHART), "PersistentVolumeClaim")
    off = charts.render(CHART, {"modelCache": {"enabled": False}})
    cache = next(
        v
        for v in find(off, "Deployment")["spec"]["template"]["spec"]["volumes"]
        if v["name"] == "model-cache"
    )

    assert pvc["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert "annotations" not in pvc["metadata"]  # deleted with the release
    assert "PersistentVolumeClaim" not in kinds(off)
    assert cache == {"name": "model-cache", "emptyDir": {}}


def test_should_keep_the_cache_pvc_on_uninstall_when_asked(charts: Charts) -> None:
    pvc = find(
        charts.render(CHART, {"modelCache": {"retainOnUninstall": True}}), "PersistentVolumeClaim"
    )

    assert pvc["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}


def test_should_prefetch_hf_weights_in_an_init_container(charts: Charts) -> None:
    deploy = find(charts.render(CHART, {"modelCache": {"prefetch": True}}), "Deployment")
    init = deploy["spec"]["template"]["spec"]["initContainers"][0]

    assert init["name"] == "prefetch-model"
    assert init["args"][-1] == "google/gemma-3-270m"


def test_should_omit_the_hpa_when_disabled(charts: Charts) -> None:
    assert not {"HorizontalPodAutoscaler", "ScaledObject"} & kinds(charts.render(CHART))


def test_should_scale_on_queue_depth_with_an_hpa(charts: Charts) -> None:
    docs = charts.render(CHART, {"autoscaling": {"mode": "hpa", "maxReplicas": 3}})
    hpa = find(docs, "HorizontalPodAutoscaler")

    assert hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] == "vllm_num_requests_waiting"
    assert hpa["spec"]["maxReplicas"] == 3
    assert "replicas" not in find(docs, "Deployment")["spec"]  # the HPA owns it


def test_should_scale_on_vllm_queue_depth_with_keda(charts: Charts) -> None:
    values = {"autoscaling": {"mode": "keda", "kedaPrometheusAddress": "http://prom:9090"}}
    trigger = find(charts.render(CHART, values), "ScaledObject")["spec"]["triggers"][0]

    assert "vllm:num_requests_waiting" in trigger["metadata"]["query"]


def test_should_render_monitors_only_when_enabled(charts: Charts) -> None:
    on = {"metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}}}
    monitor = find(charts.render(CHART, on), "ServiceMonitor")

    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert not {"ServiceMonitor", "PodMonitor"} & kinds(charts.render(CHART))


def test_should_schedule_on_gpu_nodes_with_runtime_class(charts: Charts) -> None:
    values = {
        "nodeSelector": {"gpu": "a100"},
        "runtimeClassName": "nvidia",
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    }
    spec = find(charts.render(CHART, values), "Deployment")["spec"]["template"]["spec"]

    assert spec["nodeSelector"] == {"gpu": "a100"}
    assert spec["runtimeClassName"] == "nvidia"
    assert spec["tolerations"][0]["key"] == "nvidia.com/gpu"


def test_should_apply_security_exceptions_only_when_set(charts: Charts) -> None:
    values = {"securityExceptions": {"runAsRoot": True, "addCapabilities": ["IPC_LOCK"]}}
    ctx = engine(charts, values)["securityContext"]

    assert ctx["runAsNonRoot"] is False
    assert ctx["capabilities"]["add"] == ["IPC_LOCK"]
    assert "WARNING" in charts.notes(CHART, values)


def test_should_render_an_inference_service_instead_of_a_deployment_in_kserve_mode(
    charts: Charts,
) -> None:
    docs = charts.render(CHART, {"mode": "kserve", "engine": {"tensorParallelSize": 2}})
    predictor = find(docs, "InferenceService")["spec"]["predictor"]
    container = predictor["containers"][0]

    assert not {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PersistentVolumeClaim",
    } & kinds(docs)
    assert container["name"] == "kserve-container"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 2
    assert {"name": "STORAGE_URI", "value": "hf://google/gemma-3-270m"} in container["env"]
    assert "--model=/mnt/models" in container["args"]


def test_should_tell_how_to_reach_the_api_in_notes(charts: Charts) -> None:
    notes = charts.notes(CHART)

    assert "kubectl port-forward -n ns svc/r-llm-inference 8000:8000" in notes
    assert "helm test r -n ns" in notes
