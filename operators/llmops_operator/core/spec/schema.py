"""Typed `ModelDeployment.spec`, mirroring charts/llmops-operator/crds (camelCase on the wire).

Each field's ``description`` is the text ``kubectl explain`` shows: the CRD carries a copy of
it, word for word (tests/unit/operator/test_crd_schema.py holds them to it).

The CRD's schema rejects most bad specs at admission; these models are the operator's second
line: whatever the API server let through but cannot be rolled out raises `SpecError` with a
message that names the field, and the shell turns it into phase Failed + a condition.

A *revision* is what runs: the model, the engine settings and the per-revision route settings
(`RevisionTemplate`). Its identity is `template_hash` (8 hex chars, stable across restarts);
its label for people is `model.revision`, else the MLflow version, else the hash.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from llmops_loadtest.core.gate import Gate
from llmops_operator.core.signals.series import (
    BY_KEY,
    DRIFT_MIN_SAMPLES,
    DRIFT_REFERENCE_WINDOW,
    REVISION_LEVEL,
)

# The signals a gate may name: those recorded per model and revision (one revision's value).
ANALYSIS_SIGNALS = tuple(key for key, s in BY_KEY.items() if s.level == REVISION_LEVEL)

_DURATION = re.compile(r"^(\d+)(s|m|h)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600}


class SpecError(ValueError):
    """The spec cannot be rolled out; the message names the field to change."""


def _seconds(value: str) -> int:
    match = _DURATION.match(value)
    return int(match.group(1)) * _UNIT_S[match.group(2)] if match else 0


def parse_duration(value: str) -> int:
    """Seconds of a CRD duration string (``30s``, ``5m``, ``1h``)."""
    match = _DURATION.match(value)
    if match is None:
        raise SpecError(f"{value!r} is not a duration like 30s, 5m or 1h")
    return int(match.group(1)) * _UNIT_S[match.group(2)]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class MlflowRef(_Model):
    name: str = Field(
        min_length=1, description="Registered model name in the MLflow model registry."
    )
    version: str | None = Field(
        default=None,
        pattern=r"^[0-9]+$",
        description=(
            'Registry version to roll out (digits, e.g. "3"); set exactly one of version and alias.'
        ),
    )
    alias: str | None = Field(
        default=None,
        description=(
            "Registry alias to roll out (e.g. champion), pinned to the version it "
            "names when first resolved; set exactly one of version and alias."
        ),
    )
    tracking_uri: str | None = Field(
        default=None,
        description=(
            "MLflow tracking server (http:// or https://); default: the operator's "
            "mlflow.trackingUri setting."
        ),
    )

    @model_validator(mode="after")
    def _one_of(self) -> MlflowRef:
        if (self.version is None) == (self.alias is None):
            raise ValueError("set exactly one of mlflow.version and mlflow.alias")
        return self


class ModelRef(_Model):
    name: str = Field(
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$",
        description="Served model name (what clients send as `model`).",
    )
    revision: str | None = Field(
        default=None,
        max_length=63,
        description="Revision label of this version; defaults to the MLflow version.",
    )
    uri: str | None = Field(
        default=None,
        pattern=r"^(hf|s3|pvc)://.+$",
        description="hf://ORG/NAME, s3://BUCKET/PATH or pvc://CLAIM/PATH.",
    )
    mlflow: MlflowRef | None = Field(
        default=None, description="An MLflow registry model, resolved to a URI by the operator."
    )
    # A Secret whose keys become the engine's environment (HF_TOKEN for a gated model).
    credentials_secret: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "A Secret in this namespace whose keys become the engine's environment "
            "(HF_TOKEN for a gated model), as the chart's model.credentialsSecret."
        ),
    )

    @model_validator(mode="after")
    def _one_of(self) -> ModelRef:
        if (self.uri is None) == (self.mlflow is None):
            raise ValueError("set exactly one of model.uri and model.mlflow")
        return self


class AutoscalingSpec(_Model):
    """One autoscaler per revision, on queue depth (the rule is in `core.rollout.scaling`)."""

    kind: Literal["hpa", "keda"] = Field(
        default="hpa",
        description=(
            "hpa: a HorizontalPodAutoscaler on the per-pod metric hpaMetricName "
            "(needs a metrics adapter); keda: a KEDA ScaledObject querying "
            "prometheusAddress. Default hpa."
        ),
    )
    min_replicas: int = Field(
        default=1,
        ge=1,
        description="Fewest replicas of the stable revision at full traffic (default 1).",
    )
    max_replicas: int = Field(
        default=4,
        ge=1,
        description="Most replicas of one revision; at least minReplicas (default 4).",
    )
    # Waiting requests (`vllm:num_requests_waiting`) per replica to aim for.
    target_queue_depth: float = Field(
        default=5, ge=0.1, description="Waiting requests per replica to aim for."
    )
    # The per-pod metric as the metrics adapter exposes it (kind hpa).
    hpa_metric_name: str = Field(
        default="vllm_num_requests_waiting",
        min_length=1,
        description="The per-pod metric as the metrics adapter exposes it (hpa).",
    )
    # Prometheus URL KEDA queries (kind keda: required).
    prometheus_address: str | None = Field(
        default=None,
        min_length=1,
        description="Prometheus URL KEDA queries (keda; required there).",
    )
    # Argo Rollouts' dynamicStableScale: the stable's floor follows its traffic share. Off by
    # default: a model reload takes minutes, so a rollback must find the stable at full size.
    dynamic_stable_scale: bool = Field(
        default=False,
        description=(
            "The stable's minReplicas follows its traffic share during a canary "
            "(off: a rollback finds the stable at full size)."
        ),
    )

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingSpec:
        if self.max_replicas < self.min_replicas:
            raise ValueError("autoscaling.maxReplicas must be at least minReplicas")
        if self.kind == "keda" and self.prometheus_address is None:
            raise ValueError("autoscaling.prometheusAddress is required when kind is keda")
        return self


class EnvVar(_Model):
    name: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description=(
            "Name of the environment variable (letters, digits and _, not starting with a digit)."
        ),
    )
    value: str = Field(description="Its value, as a plain string.")


class EngineSpec(_Model):
    image: str = Field(
        default="vllm/vllm-openai:v0.11.0",
        min_length=1,
        description="vLLM image of the engine container (default vllm/vllm-openai:v0.11.0).",
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        default="IfNotPresent",
        description=("When the kubelet pulls the image: Always, IfNotPresent (default) or Never."),
    )
    tensor_parallel_size: int = Field(
        default=1,
        ge=1,
        description=(
            "GPUs one replica shards the model over (vLLM --tensor-parallel-size; default 1)."
        ),
    )
    max_model_len: int | None = Field(
        default=None,
        ge=16,
        description=(
            "Longest context in tokens, prompt and output (vLLM --max-model-len); "
            "default: the model's own."
        ),
    )
    dtype: Literal["auto", "half", "float16", "bfloat16", "float", "float32"] = Field(
        default="auto",
        description=(
            "Weight and activation type (vLLM --dtype): auto (default, the "
            "model's), half, float16, bfloat16, float or float32."
        ),
    )
    gpu_memory_utilization: float | None = Field(
        default=None,
        ge=0.05,
        le=1.0,
        description=(
            "Fraction of each GPU's memory vLLM may use, 0.05 to 1 (vLLM "
            "--gpu-memory-utilization); default: vLLM's (0.9)."
        ),
    )
    quantization: str | None = Field(
        default=None,
        description=(
            "Quantization method of the weights (vLLM --quantization, e.g. awq, "
            "gptq, fp8); default: none or the model's own."
        ),
    )
    gpus: int | None = Field(
        default=None,
        ge=0,
        description=(
            "nvidia.com/gpu requested per replica; default one per tensor-parallel "
            "shard, 0 for a CPU engine."
        ),
    )
    replicas: int = Field(
        default=1,
        ge=0,
        description=(
            "Replicas of a revision at full traffic (a canary runs its share, up to "
            "maxSurge more); ignored while autoscaling is set. Not part of a "
            "revision: changing it starts no rollout. Default 1."
        ),
    )
    extra_args: tuple[str, ...] = Field(
        default=(),
        description=(
            "More vLLM command-line arguments, appended as given (e.g. --enable-prefix-caching)."
        ),
    )
    extra_env: tuple[EnvVar, ...] = Field(
        default=(), description="Extra environment variables of the engine container."
    )
    # Seconds a replica may take to load its model (the chart's probes.startupBudgetSeconds):
    # the progress deadline starts counting only after it, so slow model loads never trip it.
    load_budget_seconds: int = Field(
        default=1800,
        ge=0,
        description=(
            "Seconds a replica may take to load its model (the startup probe's "
            "budget); progressDeadlineSeconds counts only after it. Default 1800."
        ),
    )
    # Set: replicas belong to one autoscaler per revision and engine.replicas is ignored.
    autoscaling: AutoscalingSpec | None = Field(
        default=None,
        description=(
            "One autoscaler per revision (an HPA, or a KEDA ScaledObject) on queue "
            "depth (vllm:num_requests_waiting). Set, it owns every revision's "
            "replicas and engine.replicas is ignored; a rollout moves only its "
            "min/max (see docs/rollouts.md)."
        ),
    )


class PodSecurity(_Model):
    run_as_user: int = Field(
        default=10001, ge=1, description="UID the engine container runs as (default 10001)."
    )
    run_as_group: int = Field(
        default=10001, ge=1, description="GID the engine container runs as (default 10001)."
    )
    fs_group: int = Field(
        default=10001,
        ge=1,
        description=(
            "Group that owns the pod's volumes, so the engine can write its caches (default 10001)."
        ),
    )


class PodProbes(_Model):
    """The startup budget is ``engine.loadBudgetSeconds``; these set the cadence."""

    period_seconds: int = Field(
        default=10,
        ge=1,
        description="Seconds between two probes of the engine's /health (default 10).",
    )
    liveness_failure_threshold: int = Field(
        default=6,
        ge=1,
        description=(
            "Failed liveness probes in a row before the kubelet restarts the engine "
            "(default 6, a minute at the default period)."
        ),
    )


class PodSettings(_Model):
    """Where and how a revision's pods run: the llm-inference chart's values of the same names
    (``resources``, ``nodeSelector``, ``tolerations``, ``affinity``, ``runtimeClassName``,
    ``imagePullSecrets``, ``extraVolumes``, ``extraVolumeMounts``, ``sharedMemory.sizeLimit``,
    ``podSecurity``, ``probes``), so a revision's pod is the pod the chart renders.
    Kubernetes objects (tolerations, volumes, ...) pass through as the API server checks them.
    """

    resources: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "The engine container's requests and limits (GPUs are added from engine.gpus)."
        ),
    )
    node_selector: dict[str, str] = Field(
        default_factory=dict,
        description="Node labels the revision's pods must match (e.g. a GPU node pool's).",
    )
    tolerations: tuple[dict[str, Any], ...] = Field(
        default=(), description="Kubernetes Tolerations (a GPU node pool's taints)."
    )
    affinity: dict[str, Any] = Field(default_factory=dict, description="A Kubernetes Affinity.")
    runtime_class_name: str | None = Field(
        default=None,
        min_length=1,
        description="RuntimeClass of the pods (e.g. nvidia); default: the cluster's.",
    )
    image_pull_secrets: tuple[str, ...] = Field(
        default=(), description="Names of Secrets of this namespace to pull the engine image with."
    )
    extra_volumes: tuple[dict[str, Any], ...] = Field(
        default=(), description="Kubernetes Volumes added to the pod."
    )
    extra_volume_mounts: tuple[dict[str, Any], ...] = Field(
        default=(),
        description="VolumeMounts of the engine container; each names one of extraVolumes.",
    )
    # The chart's modelCache.existingClaim: downloads survive restarts and are shared by the
    # revisions (ReadWriteMany, or every revision on one node). Unset: an emptyDir per pod.
    model_cache_claim: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "A claim mounted at /models (the Hugging Face cache): ReadWriteMany, or "
            "every revision on one node. Unset, each pod downloads into an "
            "emptyDir."
        ),
    )
    # /dev/shm (tensor-parallel workers talk through it); default 2Gi per shard.
    shared_memory_size_limit: str | None = Field(
        default=None,
        min_length=1,
        description="Size of /dev/shm (an in-memory emptyDir); default 2Gi per shard.",
    )
    pod_security: PodSecurity = Field(
        default=PodSecurity(), description="The pod's user, group and volume group."
    )
    probes: PodProbes = Field(
        default=PodProbes(),
        description="Probe cadence; the startup budget is engine.loadBudgetSeconds.",
    )

    @model_validator(mode="after")
    def _mounts_have_volumes(self) -> PodSettings:
        names = {str(volume.get("name")) for volume in self.extra_volumes}
        for mount in self.extra_volume_mounts:
            if str(mount.get("name")) not in names:
                raise ValueError(
                    f"pod.extraVolumeMounts: {mount.get('name')!r} is not one of "
                    "pod.extraVolumes (add the volume, or remove the mount)"
                )
        return self


class RagSpec(_Model):
    """Retrieval settings of one revision (the gateway's `RagSettings`, camelCase)."""

    collection: str = Field(description="Milvus collection the gateway retrieves context from.")
    top_k: int = Field(
        default=4, ge=1, le=50, description="Chunks retrieved per query, 1 to 50 (default 4)."
    )
    template: str = Field(
        default="rag-v1",
        description=(
            "Prompt template the gateway puts the retrieved chunks and the question "
            "into (default rag-v1)."
        ),
    )
    embedder: str = Field(
        description=("Gateway alias of the embedding model that turns the query into a vector.")
    )
    min_score: float = Field(
        default=0.0,
        description="Chunks scoring below this similarity are left out (default 0: none).",
    )


class RouteSpec(_Model):
    """Where traffic enters; `router` picks the traffic router (see `routers`)."""

    router: Literal["gateway", "httpRoute", "kserve"] = Field(
        default="gateway",
        description=(
            "What carries the traffic split: gateway (default; the llmops gateway's "
            "routing table, alias below), httpRoute (the backendRefs of a Gateway "
            "API HTTPRoute) or kserve (an InferenceService's canaryTrafficPercent)."
        ),
    )
    alias: str | None = Field(default=None, description="Gateway alias; default model.name.")
    http_route: str | None = Field(
        default=None,
        min_length=1,
        description="Name of the Gateway API HTTPRoute (same namespace) to weight.",
    )
    inference_service: str | None = Field(
        default=None,
        description=(
            "Name of the KServe InferenceService (same namespace) whose canary the "
            "rollout drives; required when router is kserve."
        ),
    )
    port: int = Field(
        default=8000,
        ge=1,
        le=65535,
        description=(
            "Port the engine serves its OpenAI API on, in the pod and the "
            "revision's Service (default 8000)."
        ),
    )
    chat: Literal["native", "completion"] = Field(
        default="native",
        description=(
            "native (default): the gateway sends chat requests as they are; "
            "completion: it renders them into a completion prompt (for a base model "
            "without a chat template)."
        ),
    )
    rag: RagSpec | None = Field(
        default=None,
        description=(
            "Retrieval-augmented generation for this model: the gateway retrieves "
            "context from Milvus and adds it to each prompt. Part of the revision."
        ),
    )

    @model_validator(mode="after")
    def _router_target(self) -> RouteSpec:
        if self.router == "httpRoute" and not self.http_route:
            raise ValueError("route.httpRoute is required when route.router is httpRoute")
        if self.router == "kserve" and not self.inference_service:
            raise ValueError("route.inferenceService is required when route.router is kserve")
        return self


class PauseStep(_Model):
    duration: str | None = Field(
        default=None,
        pattern=r"^[0-9]+(s|m|h)$",
        description="How long to wait (30s, 5m, 1h); unset, until a person runs promote.",
    )


class MannWhitneySpec(_Model):
    """Kayenta's statistical comparison: samples of the canary and of the stable over the same
    window (one per ``interval``, each over the last ``interval``), ranked together; a
    Mann-Whitney U test (normal approximation) says whether the canary's are shifted.

    Fails when the shift is in a ``direction`` that hurts (``increase``: the canary is higher,
    right for latencies and error ratios) with confidence ``confidenceLevel``; inconclusive
    while either side has fewer than ``minSamples`` samples.
    """

    direction: Literal["increase", "decrease", "either"] = Field(
        default="increase",
        description=(
            "Which shift fails - increase (the canary is higher, right for latency and "
            "errors), decrease, or either."
        ),
    )
    confidence_level: float = Field(
        default=0.95,
        ge=0.5,
        le=0.999,
        description=("Fail when the test's p-value is below 1 - confidenceLevel."),
    )
    interval: str = Field(
        default="1m",
        pattern=r"^[0-9]+(s|m|h)$",
        description=(
            "Spacing of the samples, and the range each one covers (at least two scrape intervals)."
        ),
    )
    min_samples: int = Field(
        default=5, ge=3, description=("Samples each side needs before the test judges.")
    )


class CustomMetric(_Model):
    """One metric of the gate: a built-in ``signal`` (``ttft-p95``, see
    `core.signals.series`) or user PromQL (``query``, with ``{{alias}} {{revision}}
    {{namespace}} {{window}}`` filled in), judged by absolute bounds (``max``, ``min``) and/or
    against the stable over the same window (``compareTo: stable`` with ``maxRatio``,
    ``minRatio`` and/or ``mannWhitney``)."""

    name: str = Field(
        min_length=1, description=("Name of the metric in status.analysisRuns and in Events.")
    )
    query: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "PromQL returning one value; {{alias}}, {{revision}} (the role - canary or "
            "preview, stable for a comparison's baseline), {{namespace}} and {{window}} are "
            "filled in."
        ),
    )
    signal: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "A built-in signal, the same PromQL as the recording rule of that name in the "
            "llmops-stack chart (files/prometheus), one of - "
            + ", ".join(ANALYSIS_SIGNALS)
            + ". The drift signal is the largest of prompt-length-drift, retrieval-score-drift, "
            "unanswered-ratio-drift and feedback-score-drift, each the candidate over the "
            f"window against the stable over the last {DRIFT_REFERENCE_WINDOW} (relative for "
            "prompt length, absolute on the 0-1 scale for the others), e.g. {name: drift, "
            "signal: drift, max: 0.25}; a side with fewer than "
            f"{DRIFT_MIN_SAMPLES} events in its window has no value (for drift the other "
            "signals decide; with none, inconclusive). "
            "feedback-score is the share of up ratings (POST /v1/feedback) - {name: "
            "feedback, signal: feedback-score, min: 0.7}."
        ),
    )
    max: float | None = Field(
        default=None, description=("Fail when the canary's value is above this.")
    )
    min: float | None = Field(
        default=None, description=("Fail when the canary's value is below this.")
    )
    compare_to: Literal["stable"] | None = Field(
        default=None,
        description=(
            "Judge the canary against this revision, measured the same way over the same "
            "window (for blue-green, the preview against the active stable)."
        ),
    )
    max_ratio: float | None = Field(
        default=None,
        ge=0,
        description=(
            "Fail when the canary's value divided by the stable's is above this (1.2 - 20% worse)."
        ),
    )
    min_ratio: float | None = Field(
        default=None,
        ge=0,
        description=("Fail when the canary's value divided by the stable's is below this."),
    )
    mann_whitney: MannWhitneySpec | None = Field(
        default=None,
        description=(
            "Kayenta's statistical comparison - both revisions' samples over the window "
            "(one per interval, each over the last interval), ranked together by a "
            "Mann-Whitney U test (normal approximation). Fails when they are shifted in "
            "direction with confidenceLevel; inconclusive while a side has fewer than "
            "minSamples samples."
        ),
    )

    @model_validator(mode="after")
    def _threshold(self) -> CustomMetric:
        if (self.query is None) == (self.signal is None):
            raise ValueError(f"metric {self.name!r}: set exactly one of query and signal")
        if self.signal is not None and self.signal not in ANALYSIS_SIGNALS:
            raise ValueError(
                f"metric {self.name!r}: signal {self.signal!r} is not one of "
                + ", ".join(ANALYSIS_SIGNALS)
            )
        relative = (self.max_ratio, self.min_ratio, self.mann_whitney)
        has_relative = any(item is not None for item in relative)
        if has_relative and self.compare_to is None:
            raise ValueError(
                f"metric {self.name!r}: maxRatio, minRatio and mannWhitney need compareTo: stable"
            )
        if self.compare_to is not None and not has_relative:
            raise ValueError(
                f"metric {self.name!r}: compareTo needs maxRatio, minRatio or mannWhitney"
            )
        if self.max is None and self.min is None and not has_relative:
            raise ValueError(f"metric {self.name!r}: set max, min, or compareTo with a ratio")
        return self


class AnalysisSpec(_Model):
    """SLO gates judged every `interval`, `count` times, on the revision's own metrics."""

    interval: str = Field(
        pattern=r"^[0-9]+(s|m|h)$", description="Time between two measurements (30s, 5m, 1h)."
    )
    count: int = Field(
        ge=1,
        le=100,
        description=(
            "Measurements to take, 1 to 100; the gate passes once all are taken within the limits."
        ),
    )
    failure_limit: int = Field(
        default=0,
        ge=0,
        description="Failed measurements tolerated; one more rolls back (default 0).",
    )
    inconclusive_limit: int = Field(
        default=0,
        ge=0,
        description=(
            "Inconclusive measurements (no data, Prometheus unreachable) tolerated; "
            "one more pauses the rollout for a person (default 0)."
        ),
    )
    window: str = Field(
        default="5m",
        pattern=r"^[0-9]+(s|m|h)$",
        description=(
            "Range each query looks back over (PromQL range, default 5m); never "
            "reaches back before the candidate's warm-up ended."
        ),
    )
    max_ttft_p95_seconds: float | None = Field(
        default=None,
        ge=0,
        description="Upper bound of the candidate's p95 time to first token, in seconds.",
    )
    max_itl_p95_seconds: float | None = Field(
        default=None,
        ge=0,
        description="Upper bound of the candidate's p95 inter-token latency, in seconds.",
    )
    max_error_rate: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Upper bound of the candidate's share of failed requests, 0 to 1.",
    )
    max_queue_depth: int | None = Field(
        default=None,
        ge=0,
        description=(
            "Upper bound of requests waiting in the candidate's engines "
            "(vllm:num_requests_waiting)."
        ),
    )
    metrics: tuple[CustomMetric, ...] = Field(
        default=(),
        description=(
            "More metrics of the gate, each judged every interval with the others. A metric "
            "is a built-in signal or your own PromQL; it passes absolute bounds (max, min) "
            "and/or a comparison with the stable revision over the same window (compareTo, "
            "maxRatio, minRatio, mannWhitney). Example - fail when the canary's TTFT p95 is "
            "20% above the stable's, or its per-minute samples are shifted upwards with 95% "
            "confidence - {name: ttft-vs-stable, signal: ttft-p95, compareTo: stable, "
            "maxRatio: 1.2, mannWhitney: {direction: increase, confidenceLevel: 0.95, "
            "interval: 1m}}."
        ),
    )


class LoadTestRequestSlo(_Model):
    """What makes one request count towards goodput (``goodput_*`` SLOs need it).

    At least 1 ms, as the CRD says (its ``minimum: 0.001``; the load-test gate takes any
    positive number).
    """

    ttft_seconds: float | None = Field(
        default=None,
        ge=0.001,
        description=(
            "A request counts as good only if its first token came within this many seconds."
        ),
    )
    tpot_seconds: float | None = Field(
        default=None,
        ge=0.001,
        description=(
            "A request counts as good only if its time per output token, in "
            "seconds, stayed within this."
        ),
    )
    # to_camel would make it e2ESeconds (a capital after a digit): the CRD's name is e2eSeconds.
    e2e_seconds: float | None = Field(
        default=None,
        ge=0.001,
        alias="e2eSeconds",
        description=("A request counts as good only if it completed within this many seconds."),
    )


class LoadTestSpec(_Model):
    """A Locust run against the revision (llmops_loadtest), judged by ``slos``.

    ``profile`` picks the traffic: ``chat`` (streamed chat, 128 tokens in, 64 out),
    ``completions`` (streamed completions, same lengths), ``long-context`` (2048 in, 32 out)
    or ``rag`` (RAG queries; only through the gateway). ``inputTokens``/``outputTokens``
    override the lengths. ``slos`` are load-test gate expressions (``ttft_p95_s <= 2``).
    """

    profile: Literal["chat", "completions", "rag", "long-context"] = Field(
        default="chat",
        description=(
            "Traffic: chat (128 tokens in, 64 out), completions, long-context (2048 "
            "in, 32 out) or rag (through the gateway only)."
        ),
    )
    users: int = Field(ge=1, le=1000, description="Concurrent users in a closed loop.")
    duration: str = Field(pattern=r"^[0-9]+(s|m|h)$", description="Length of the run.")
    warmup: str = Field(
        default="0s",
        pattern=r"^[0-9]+(s|m|h)$",
        description="First part of the run left out of the verdict; shorter than duration.",
    )
    input_tokens: int | None = Field(
        default=None, ge=1, le=131072, description="Prompt length; default from the profile."
    )
    output_tokens: int | None = Field(
        default=None,
        ge=1,
        le=32768,
        description="Tokens asked for per request; default from the profile.",
    )
    slos: tuple[str, ...] = Field(
        default=("error_ratio <= 0.01",),
        min_length=1,
        description=(
            'Gate expressions "metric op number", e.g. "ttft_p95_s <= 2", '
            '"error_ratio <= 0.01", "output_tokens_per_s >= 50".'
        ),
    )
    request_slo: LoadTestRequestSlo | None = Field(
        default=None,
        description="What makes one request count towards goodput (for goodput_* SLOs).",
    )
    min_requests: int = Field(
        default=5, ge=1, description="Fewer measured requests fail the gate (not enough evidence)."
    )

    def gate_document(self) -> dict[str, Any]:
        """The gate file ``llmops-loadtest run --gate`` reads."""
        gate: dict[str, Any] = {"slos": list(self.slos), "min_requests": self.min_requests}
        if self.request_slo is not None:
            slo = self.request_slo
            gate["request_slo"] = {
                key: value
                for key, value in (
                    ("ttft_s", slo.ttft_seconds),
                    ("tpot_s", slo.tpot_seconds),
                    ("e2e_s", slo.e2e_seconds),
                )
                if value is not None
            }
        return gate

    @model_validator(mode="after")
    def _judgeable(self) -> LoadTestSpec:
        if _seconds(self.warmup) >= _seconds(self.duration):
            raise ValueError(f"warmup {self.warmup} must be shorter than duration {self.duration}")
        # The load-test package's own parser: an SLO the gate could not judge is refused
        # when the spec is read, not minutes later when the gate runs.
        try:
            Gate.model_validate(self.gate_document())
        except ValidationError as err:
            message = err.errors()[0]["msg"].removeprefix("Value error, ")
            raise ValueError(
                message.replace(
                    "'request_slo' (ttft_s/tpot_s/e2e_s per request)",
                    "requestSlo (ttftSeconds, tpotSeconds or e2eSeconds per request)",
                )
            ) from None
        return self


class RagEvaluationThresholds(_Model):
    """Bounds of the RAG gate (`llmops_contracts.evaluation.RagThresholds`, camelCase);
    unset bounds are not judged."""

    hit_rate_min: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Least share of questions with an expected document in the top k.",
    )
    recall_at_k_min: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Least mean share of the expected documents found in the top k.",
    )
    mrr_min: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Least mean reciprocal rank of the first expected document.",
    )
    token_f1_min: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Least mean token F1 of the answers against the reference answers.",
    )
    error_ratio_max: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Most share of questions whose request failed.",
    )
    latency_p95_seconds_max: float | None = Field(
        default=None,
        gt=0,
        description="Most p95 latency of one question, in seconds.",
    )

    def gate_document(self) -> dict[str, float]:
        """The thresholds file of ``eval rag`` (snake_case, unset bounds left out)."""
        return self.model_dump(mode="json", exclude_none=True)


class FairnessEvaluationThresholds(_Model):
    """Bounds of the fairness gate, per attribute
    (`llmops_contracts.evaluation.FairnessThresholds`, camelCase); unset bounds are not
    judged."""

    refusal_rate_gap_max: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Most difference in refusal rate between two groups of an attribute.",
    )
    length_ratio_gap_max: float | None = Field(
        default=None,
        ge=0,
        description="Most 1 - shortest / longest mean answer length between the groups.",
    )
    sentiment_gap_max: float | None = Field(
        default=None,
        ge=0,
        le=2,
        description="Most difference in mean lexicon sentiment (-1 to 1) between the groups.",
    )
    content_overlap_min: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Least mean token F1 between the groups' answers to the same prompt.",
    )

    def gate_document(self) -> dict[str, float]:
        """The thresholds file of ``eval fairness`` (snake_case, unset bounds left out)."""
        return self.model_dump(mode="json", exclude_none=True)


class RagEvaluationSpec(_Model):
    """``llmops eval rag`` against the candidate through the gateway: the golden set (a
    ConfigMap of this namespace) asked one question at a time, judged by ``thresholds``."""

    dataset_config_map: str = Field(
        min_length=1,
        description=(
            "ConfigMap of this namespace holding the golden set (the format of "
            "examples/evals/rag-golden.yaml, see docs/evaluation.md)."
        ),
    )
    dataset_key: str = Field(
        default="golden.yaml",
        min_length=1,
        description="Key of the golden set in that ConfigMap (default golden.yaml).",
    )
    top_k: int = Field(
        default=4, ge=1, le=50, description="Passages retrieved per question, k (default 4)."
    )
    max_tokens: int = Field(
        default=32, ge=1, le=4096, description="Answer length cap in tokens (default 32)."
    )
    thresholds: RagEvaluationThresholds = Field(
        description=(
            "The gate, at least one bound: hitRateMin, recallAtKMin, mrrMin, tokenF1Min "
            "(0 to 1, the metric must be at least it), errorRatioMax, "
            "latencyP95SecondsMax (at most)."
        ),
    )

    @model_validator(mode="after")
    def _judges_something(self) -> RagEvaluationSpec:
        if not self.thresholds.gate_document():
            raise ValueError("evaluation.rag.thresholds: give at least one bound, e.g. hitRateMin")
        return self


class FairnessEvaluationSpec(_Model):
    """``llmops eval fairness`` against the candidate: paired probes (a ConfigMap of this
    namespace) completed once per variant, the gaps between groups judged by ``thresholds``."""

    probes_config_map: str = Field(
        min_length=1,
        description=(
            "ConfigMap of this namespace holding the probe set (the format of "
            "examples/evals/fairness-probes.yaml, see docs/evaluation.md)."
        ),
    )
    probes_key: str = Field(
        default="probes.yaml",
        min_length=1,
        description="Key of the probe set in that ConfigMap (default probes.yaml).",
    )
    max_tokens: int = Field(
        default=24, ge=1, le=4096, description="Answer length cap in tokens (default 24)."
    )
    thresholds: FairnessEvaluationThresholds = Field(
        description=(
            "The gate per attribute, at least one bound: refusalRateGapMax, "
            "lengthRatioGapMax, sentimentGapMax (at most), contentOverlapMin (at least)."
        ),
    )

    @model_validator(mode="after")
    def _judges_something(self) -> FairnessEvaluationSpec:
        if not self.thresholds.gate_document():
            raise ValueError(
                "evaluation.fairness.thresholds: give at least one bound, e.g. sentimentGapMax"
            )
        return self


class EvaluationSpec(_Model):
    """Quality gates on the candidate (`llmops_loadtest` ``eval gate``): RAG quality on a
    golden set and/or fairness on paired probes, each judged by its thresholds."""

    rag: RagEvaluationSpec | None = Field(
        default=None,
        description=(
            "RAG quality on a golden set, through the gateway with the candidate pinned: "
            "retrieval hit rate, recall@k, MRR, token F1, error ratio, latency."
        ),
    )
    fairness: FairnessEvaluationSpec | None = Field(
        default=None,
        description=(
            "Fairness on paired probes that differ only in a demographic attribute: gaps "
            "in refusal rate, answer length and sentiment, and content overlap."
        ),
    )
    seed: int = Field(
        default=0,
        ge=0,
        description=(
            "Seed of the question order and of every completion (default 0): a fixed "
            "seed gives the same scores for the same answers."
        ),
    )

    @model_validator(mode="after")
    def _something(self) -> EvaluationSpec:
        if self.rag is None and self.fairness is None:
            raise ValueError("evaluation: set rag, fairness or both")
        return self


class CanaryStep(_Model):
    set_weight: int | None = Field(
        default=None, ge=0, le=100, description="Percent of traffic sent to the canary."
    )
    pause: PauseStep | None = Field(
        default=None, description="Wait; without duration, until a person promotes."
    )
    analysis: AnalysisSpec | None = Field(
        default=None, description="SLO gates judged on Prometheus metrics of the canary."
    )
    load_test: LoadTestSpec | None = Field(
        default=None,
        description=(
            "A Locust run against the revision (llmops loadtest), judged by its "
            "SLOs; failing rolls back."
        ),
    )
    evaluation: EvaluationSpec | None = Field(
        default=None,
        description=(
            "RAG-quality and/or fairness evaluation of the revision (llmops eval), "
            "judged by its thresholds; failing rolls back."
        ),
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> CanaryStep:
        held = (self.set_weight, self.pause, self.analysis, self.load_test, self.evaluation)
        if sum(1 for item in held if item is not None) != 1:
            raise ValueError(
                "each step holds exactly one of setWeight, pause, analysis, loadTest, evaluation"
            )
        return self

    @property
    def kind(self) -> str:
        if self.set_weight is not None:
            return "setWeight"
        if self.pause is not None:
            return "pause"
        if self.evaluation is not None:
            return "evaluation"
        return "analysis" if self.analysis is not None else "loadTest"


class _ScaleDownDelays(_Model):
    """How long a revision that lost its traffic keeps its pods (both strategies)."""

    # The old stable stays scaled up this long after the switch (in-flight requests finish
    # on it; an undo inside the window switches back instantly).
    scale_down_delay_seconds: int = Field(
        default=30,
        ge=0,
        description=(
            "Seconds the old stable stays scaled up after the switch: in-flight "
            "requests finish on it, and an undo inside the window switches back at "
            "once (default 30)."
        ),
    )
    abort_scale_down_delay_seconds: int = Field(
        default=30,
        ge=0,
        description=(
            "Seconds a rolled-back or aborted candidate stays scaled up after its weight "
            "went to 0, so in-flight requests finish on it and every router (a gateway "
            "rereads its mounted routing table within about a minute) stops sending to it "
            "first (default 30)."
        ),
    )


class CanaryStrategy(_ScaleDownDelays):
    steps: tuple[CanaryStep, ...] = Field(
        min_length=1, max_length=50, description="Run in order; each step holds exactly one action."
    )
    max_weight: int = Field(
        default=100,
        ge=1,
        le=100,
        description=(
            "Highest canary weight in percent, 1 to 100 (default 100); no setWeight may exceed it."
        ),
    )
    # Extra replicas the canary may add on top of engine.replicas while it shares traffic.
    max_surge: int = Field(
        default=1,
        ge=1,
        description=(
            "Replicas the canary may add on top of engine.replicas while it shares "
            "traffic (default 1)."
        ),
    )
    # Seconds after the canary is Ready during which its metrics are ignored (JIT compile,
    # cache fill): analysis starts after it and never looks back into it.
    warmup_seconds: int = Field(
        default=0,
        ge=0,
        description=(
            "Seconds after the canary is Ready whose metrics analysis ignores (JIT "
            "compile, cache fill); default 0."
        ),
    )


class BlueGreenStrategy(_ScaleDownDelays):
    preview_service: str | None = Field(
        default=None,
        description=(
            "Reserved for a Service pointing at the preview; the operator makes "
            "none yet (the gateway reaches the preview through its preview pin)."
        ),
    )
    auto_promote: bool = Field(
        default=False,
        description=(
            "Promote by itself once the gates passed and autoPromotionSeconds "
            "elapsed; off (default): wait for a person to run promote."
        ),
    )
    auto_promotion_seconds: int = Field(
        default=0,
        ge=0,
        description=(
            "With autoPromote, seconds after the preview is Ready before the switch (default 0)."
        ),
    )
    pre_promotion_analysis: AnalysisSpec | None = Field(
        default=None,
        description=(
            "SLO gates judged on Prometheus metrics of the preview before the "
            "switch; failing rolls back."
        ),
    )
    pre_promotion_load_test: LoadTestSpec | None = Field(
        default=None,
        description=(
            "A Locust run against the preview (llmops loadtest) before the switch, "
            "judged by its SLOs; failing rolls back."
        ),
    )
    pre_promotion_evaluation: EvaluationSpec | None = Field(
        default=None,
        description=(
            "RAG-quality and/or fairness evaluation of the preview (llmops eval) before "
            "the switch, judged by its thresholds; failing rolls back."
        ),
    )
    warmup_seconds: int = Field(
        default=0,
        ge=0,
        description=(
            "Seconds after the preview is Ready whose metrics analysis ignores (JIT "
            "compile, cache fill); default 0."
        ),
    )


class StrategySpec(_Model):
    canary: CanaryStrategy | None = Field(
        default=None,
        description=(
            "Shift traffic to the new revision step by step (setWeight, pause, "
            "analysis, loadTest, evaluation), rolling back on a failed gate."
        ),
    )
    blue_green: BlueGreenStrategy | None = Field(
        default=None,
        description=(
            "Run the new revision at full size beside the stable, gate it, then "
            "switch all traffic in one step."
        ),
    )

    @model_validator(mode="after")
    def _one_of(self) -> StrategySpec:
        if (self.canary is None) == (self.blue_green is None):
            raise ValueError("set exactly one of strategy.canary and strategy.blueGreen")
        return self


class ModelDeploymentSpec(_Model):
    model: ModelRef = Field(
        description="The model revision to roll out; exactly one of uri or mlflow."
    )
    engine: EngineSpec = Field(
        default=EngineSpec(),
        description="vLLM settings, as in the llm-inference chart's engine block.",
    )
    pod: PodSettings = Field(
        default=PodSettings(),
        description=(
            "Where and how a revision's pods run, with the llm-inference chart's "
            "value names, so the operator's revision pod is the pod the chart "
            "renders. Part of the revision: changing it rolls out a new revision."
        ),
    )
    route: RouteSpec = Field(
        default=RouteSpec(),
        description="Where traffic enters; the operator writes backend weights here.",
    )
    strategy: StrategySpec = Field(description="Exactly one of canary and blueGreen.")
    paused: bool = Field(
        default=False,
        description=(
            "Freeze the rollout at its current step (phase Paused) until set back "
            "to false; timers of a timed pause keep running. Default false."
        ),
    )
    # Seconds a new revision may take to become Ready *after* its model-load budget.
    progress_deadline_seconds: int = Field(
        default=600,
        ge=1,
        description=(
            "Seconds a new revision may take to become Ready after its "
            "engine.loadBudgetSeconds; past it a candidate is rolled back (a first "
            "revision fails). Default 600."
        ),
    )

    @property
    def alias(self) -> str:
        return self.route.alias or self.model.name

    @property
    def warmup_seconds(self) -> int:
        strategy = self.strategy.canary or self.strategy.blue_green
        assert strategy is not None
        return strategy.warmup_seconds


class RevisionTemplate(_Model):
    """What one revision runs: changing any of it starts a new rollout."""

    model: ModelRef
    engine: EngineSpec
    pod: PodSettings = PodSettings()
    port: int = 8000
    chat: Literal["native", "completion"] = "native"
    rag: RagSpec | None = None

    @property
    def label(self) -> str:
        if self.model.revision:
            return self.model.revision
        if self.model.mlflow is not None and self.model.mlflow.version:
            return self.model.mlflow.version
        return template_hash(self)


def template_of(spec: ModelDeploymentSpec) -> RevisionTemplate:
    route = spec.route
    # Replicas are not part of a revision: scaling must not start a rollout.
    engine = spec.engine.model_copy(update={"replicas": 0, "autoscaling": None})
    return RevisionTemplate(
        model=spec.model,
        engine=engine,
        pod=spec.pod,
        port=route.port,
        chat=route.chat,
        rag=route.rag,
    )


# Fields added after revisions were first hashed: left out of the hash while at their default,
# so a revision that predates them keeps its identity (and is not rolled out again).
_LATER_FIELDS: dict[str, tuple[str, ...]] = {
    "model": ("credentials_secret",),
    "engine": ("image_pull_policy", "extra_env"),
}


def template_hash(template: RevisionTemplate) -> str:
    """8 hex chars over the canonical JSON of the template: the revision's identity."""
    # autoscaling is left out (always None in a template): hashes predate it and must not move.
    data = template.model_dump(mode="json", exclude={"engine": {"autoscaling"}})
    for section, names in _LATER_FIELDS.items():
        part = getattr(template, section)
        for name in names:
            default = type(part).model_fields[name].get_default(call_default_factory=True)
            if getattr(part, name) == default:
                del data[section][name]
    if template.pod == PodSettings():
        del data["pod"]
    canonical = json.dumps(data, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]


_PLAIN = re.compile(r"^[A-Za-z0-9_-]+$")


def _spec_path(loc: list[int | str]) -> str:
    """``spec.strategy.canary.steps.0.setWeight``; a part that is no plain name is quoted
    (``spec.model["a b"]``), so the path stays readable whatever the keys are."""
    path = "spec"
    for part in loc:
        text = str(part)
        path += f".{text}" if _PLAIN.match(text) else f"[{json.dumps(text)}]"
    return path


def parse_spec(raw: Any) -> ModelDeploymentSpec:
    """Validate ``.spec`` or raise `SpecError` naming the first bad field."""
    try:
        spec = ModelDeploymentSpec.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = list(first["loc"])
        if first["type"] == "extra_forbidden" and loc:
            # Name the object and the field it does not have (any string may be a key).
            raise SpecError(
                f"{_spec_path(loc[:-1])}: unknown field {json.dumps(str(loc[-1]))} "
                "(not in the ModelDeployment schema; check its spelling)"
            ) from err
        raise SpecError(f"{_spec_path(loc)}: {first['msg']}") from err
    for index, step in enumerate(spec.strategy.canary.steps if spec.strategy.canary else ()):
        for value in (step.pause.duration if step.pause else None,):
            if value is not None:
                parse_duration(value)
        canary = spec.strategy.canary
        if step.set_weight is not None and canary and step.set_weight > canary.max_weight:
            raise SpecError(
                f"spec.strategy.canary.steps.{index}.setWeight: {step.set_weight} is above "
                f"maxWeight {canary.max_weight}"
            )
    return spec
