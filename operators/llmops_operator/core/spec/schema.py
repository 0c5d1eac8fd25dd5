"""Typed `ModelDeployment.spec`, mirroring charts/llmops-operator/crds (camelCase on the wire).

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
from llmops_operator.core.signals.series import BY_KEY, REVISION_LEVEL

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
    name: str = Field(min_length=1)
    version: str | None = Field(default=None, pattern=r"^[0-9]+$")
    alias: str | None = None
    tracking_uri: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> MlflowRef:
        if (self.version is None) == (self.alias is None):
            raise ValueError("set exactly one of mlflow.version and mlflow.alias")
        return self


class ModelRef(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
    revision: str | None = Field(default=None, max_length=63)
    uri: str | None = Field(default=None, pattern=r"^(hf|s3|pvc)://.+$")
    mlflow: MlflowRef | None = None
    # A Secret whose keys become the engine's environment (HF_TOKEN for a gated model).
    credentials_secret: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_of(self) -> ModelRef:
        if (self.uri is None) == (self.mlflow is None):
            raise ValueError("set exactly one of model.uri and model.mlflow")
        return self


class AutoscalingSpec(_Model):
    """One autoscaler per revision, on queue depth (the rule is in `core.rollout.scaling`)."""

    kind: Literal["hpa", "keda"] = "hpa"
    min_replicas: int = Field(default=1, ge=1)
    max_replicas: int = Field(default=4, ge=1)
    # Waiting requests (`vllm:num_requests_waiting`) per replica to aim for.
    target_queue_depth: float = Field(default=5, ge=0.1)
    # The per-pod metric as the metrics adapter exposes it (kind hpa).
    hpa_metric_name: str = Field(default="vllm_num_requests_waiting", min_length=1)
    # Prometheus URL KEDA queries (kind keda: required).
    prometheus_address: str | None = Field(default=None, min_length=1)
    # Argo Rollouts' dynamicStableScale: the stable's floor follows its traffic share. Off by
    # default: a model reload takes minutes, so a rollback must find the stable at full size.
    dynamic_stable_scale: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingSpec:
        if self.max_replicas < self.min_replicas:
            raise ValueError("autoscaling.maxReplicas must be at least minReplicas")
        if self.kind == "keda" and self.prometheus_address is None:
            raise ValueError("autoscaling.prometheusAddress is required when kind is keda")
        return self


class EnvVar(_Model):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    value: str


class EngineSpec(_Model):
    image: str = Field(default="vllm/vllm-openai:v0.11.0", min_length=1)
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    tensor_parallel_size: int = Field(default=1, ge=1)
    max_model_len: int | None = Field(default=None, ge=16)
    dtype: Literal["auto", "half", "float16", "bfloat16", "float", "float32"] = "auto"
    gpu_memory_utilization: float | None = Field(default=None, ge=0.05, le=1.0)
    quantization: str | None = None
    gpus: int | None = Field(default=None, ge=0, description="None: one per TP shard.")
    replicas: int = Field(default=1, ge=0)
    extra_args: tuple[str, ...] = ()
    extra_env: tuple[EnvVar, ...] = ()
    # Seconds a replica may take to load its model (the chart's probes.startupBudgetSeconds):
    # the progress deadline starts counting only after it, so slow model loads never trip it.
    load_budget_seconds: int = Field(default=1800, ge=0)
    # Set: replicas belong to one autoscaler per revision and engine.replicas is ignored.
    autoscaling: AutoscalingSpec | None = None


class PodSecurity(_Model):
    run_as_user: int = Field(default=10001, ge=1)
    run_as_group: int = Field(default=10001, ge=1)
    fs_group: int = Field(default=10001, ge=1)


class PodProbes(_Model):
    """The startup budget is ``engine.loadBudgetSeconds``; these set the cadence."""

    period_seconds: int = Field(default=10, ge=1)
    liveness_failure_threshold: int = Field(default=6, ge=1)


class PodSettings(_Model):
    """Where and how a revision's pods run: the llm-inference chart's values of the same names
    (``resources``, ``nodeSelector``, ``tolerations``, ``affinity``, ``runtimeClassName``,
    ``imagePullSecrets``, ``extraVolumes``, ``extraVolumeMounts``, ``sharedMemory.sizeLimit``,
    ``podSecurity``, ``probes``), so a revision's pod is the pod the chart renders.
    Kubernetes objects (tolerations, volumes, ...) pass through as the API server checks them.
    """

    resources: dict[str, Any] = Field(default_factory=dict)
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: tuple[dict[str, Any], ...] = ()
    affinity: dict[str, Any] = Field(default_factory=dict)
    runtime_class_name: str | None = Field(default=None, min_length=1)
    image_pull_secrets: tuple[str, ...] = ()
    extra_volumes: tuple[dict[str, Any], ...] = ()
    extra_volume_mounts: tuple[dict[str, Any], ...] = ()
    # The chart's modelCache.existingClaim: downloads survive restarts and are shared by the
    # revisions (ReadWriteMany, or every revision on one node). Unset: an emptyDir per pod.
    model_cache_claim: str | None = Field(default=None, min_length=1)
    # /dev/shm (tensor-parallel workers talk through it); default 2Gi per shard.
    shared_memory_size_limit: str | None = Field(default=None, min_length=1)
    pod_security: PodSecurity = PodSecurity()
    probes: PodProbes = PodProbes()

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

    collection: str
    top_k: int = Field(default=4, ge=1, le=50)
    template: str = "rag-v1"
    embedder: str
    min_score: float = 0.0


class RouteSpec(_Model):
    """Where traffic enters; `router` picks the traffic router (see `routers`)."""

    router: Literal["gateway", "httpRoute", "kserve"] = "gateway"
    alias: str | None = Field(default=None, description="Gateway alias; default model.name.")
    http_route: str | None = Field(default=None, min_length=1)
    inference_service: str | None = None
    port: int = Field(default=8000, ge=1, le=65535)
    chat: Literal["native", "completion"] = "native"
    rag: RagSpec | None = None

    @model_validator(mode="after")
    def _router_target(self) -> RouteSpec:
        if self.router == "httpRoute" and not self.http_route:
            raise ValueError("route.httpRoute is required when route.router is httpRoute")
        if self.router == "kserve" and not self.inference_service:
            raise ValueError("route.inferenceService is required when route.router is kserve")
        return self


class PauseStep(_Model):
    duration: str | None = Field(default=None, pattern=r"^[0-9]+(s|m|h)$")


class MannWhitneySpec(_Model):
    """Kayenta's statistical comparison: samples of the canary and of the stable over the same
    window (one per ``interval``, each over the last ``interval``), ranked together; a
    Mann-Whitney U test (normal approximation) says whether the canary's are shifted.

    Fails when the shift is in a ``direction`` that hurts (``increase``: the canary is higher,
    right for latencies and error ratios) with confidence ``confidenceLevel``; inconclusive
    while either side has fewer than ``minSamples`` samples.
    """

    direction: Literal["increase", "decrease", "either"] = "increase"
    confidence_level: float = Field(default=0.95, ge=0.5, le=0.999)
    interval: str = Field(default="1m", pattern=r"^[0-9]+(s|m|h)$")
    min_samples: int = Field(default=5, ge=3)


class CustomMetric(_Model):
    """One metric of the gate: a built-in ``signal`` (``ttft-p95``, see
    `core.signals.series`) or user PromQL (``query``, with ``{{alias}} {{revision}}
    {{namespace}} {{window}}`` filled in), judged by absolute bounds (``max``, ``min``) and/or
    against the stable over the same window (``compareTo: stable`` with ``maxRatio``,
    ``minRatio`` and/or ``mannWhitney``)."""

    name: str = Field(min_length=1)
    query: str | None = Field(default=None, min_length=1)
    signal: str | None = Field(default=None, min_length=1)
    max: float | None = None
    min: float | None = None
    compare_to: Literal["stable"] | None = None
    max_ratio: float | None = Field(default=None, ge=0)
    min_ratio: float | None = Field(default=None, ge=0)
    mann_whitney: MannWhitneySpec | None = None

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

    interval: str = Field(pattern=r"^[0-9]+(s|m|h)$")
    count: int = Field(ge=1, le=100)
    failure_limit: int = Field(default=0, ge=0)
    inconclusive_limit: int = Field(default=0, ge=0)
    window: str = Field(default="5m", pattern=r"^[0-9]+(s|m|h)$")
    max_ttft_p95_seconds: float | None = Field(default=None, ge=0)
    max_itl_p95_seconds: float | None = Field(default=None, ge=0)
    max_error_rate: float | None = Field(default=None, ge=0, le=1)
    max_queue_depth: int | None = Field(default=None, ge=0)
    metrics: tuple[CustomMetric, ...] = ()


class LoadTestRequestSlo(_Model):
    """What makes one request count towards goodput (``goodput_*`` SLOs need it).

    At least 1 ms, as the CRD says (its ``minimum: 0.001``; the load-test gate takes any
    positive number).
    """

    ttft_seconds: float | None = Field(default=None, ge=0.001)
    tpot_seconds: float | None = Field(default=None, ge=0.001)
    # to_camel would make it e2ESeconds (a capital after a digit): the CRD's name is e2eSeconds.
    e2e_seconds: float | None = Field(default=None, ge=0.001, alias="e2eSeconds")


class LoadTestSpec(_Model):
    """A Locust run against the revision (llmops_loadtest), judged by ``slos``.

    ``profile`` picks the traffic: ``chat`` (streamed chat, 128 tokens in, 64 out),
    ``completions`` (streamed completions, same lengths), ``long-context`` (2048 in, 32 out)
    or ``rag`` (RAG queries; only through the gateway). ``inputTokens``/``outputTokens``
    override the lengths. ``slos`` are load-test gate expressions (``ttft_p95_s <= 2``).
    """

    profile: Literal["chat", "completions", "rag", "long-context"] = "chat"
    users: int = Field(ge=1, le=1000)
    duration: str = Field(pattern=r"^[0-9]+(s|m|h)$")
    warmup: str = Field(default="0s", pattern=r"^[0-9]+(s|m|h)$")
    input_tokens: int | None = Field(default=None, ge=1, le=131072)
    output_tokens: int | None = Field(default=None, ge=1, le=32768)
    slos: tuple[str, ...] = Field(default=("error_ratio <= 0.01",), min_length=1)
    request_slo: LoadTestRequestSlo | None = None
    min_requests: int = Field(default=5, ge=1)

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


class CanaryStep(_Model):
    set_weight: int | None = Field(default=None, ge=0, le=100)
    pause: PauseStep | None = None
    analysis: AnalysisSpec | None = None
    load_test: LoadTestSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> CanaryStep:
        held = (self.set_weight, self.pause, self.analysis, self.load_test)
        if sum(1 for item in held if item is not None) != 1:
            raise ValueError("each step holds exactly one of setWeight, pause, analysis, loadTest")
        return self

    @property
    def kind(self) -> str:
        if self.set_weight is not None:
            return "setWeight"
        if self.pause is not None:
            return "pause"
        return "analysis" if self.analysis is not None else "loadTest"


class CanaryStrategy(_Model):
    steps: tuple[CanaryStep, ...] = Field(min_length=1, max_length=50)
    max_weight: int = Field(default=100, ge=1, le=100)
    # Extra replicas the canary may add on top of engine.replicas while it shares traffic.
    max_surge: int = Field(default=1, ge=1)
    # Seconds after the canary is Ready during which its metrics are ignored (JIT compile,
    # cache fill): analysis starts after it and never looks back into it.
    warmup_seconds: int = Field(default=0, ge=0)
    # The old stable stays scaled up this long after the switch (in-flight requests finish
    # on it; an undo inside the window switches back instantly).
    scale_down_delay_seconds: int = Field(default=30, ge=0)
    # A rolled-back (or aborted) candidate stays scaled up this long after its weight went
    # to 0: in-flight requests finish on it and every router sees the new weights first.
    abort_scale_down_delay_seconds: int = Field(default=30, ge=0)


class BlueGreenStrategy(_Model):
    preview_service: str | None = None
    auto_promote: bool = False
    auto_promotion_seconds: int = Field(default=0, ge=0)
    pre_promotion_analysis: AnalysisSpec | None = None
    pre_promotion_load_test: LoadTestSpec | None = None
    scale_down_delay_seconds: int = Field(default=30, ge=0)
    abort_scale_down_delay_seconds: int = Field(default=30, ge=0)
    warmup_seconds: int = Field(default=0, ge=0)


class StrategySpec(_Model):
    canary: CanaryStrategy | None = None
    blue_green: BlueGreenStrategy | None = None

    @model_validator(mode="after")
    def _one_of(self) -> StrategySpec:
        if (self.canary is None) == (self.blue_green is None):
            raise ValueError("set exactly one of strategy.canary and strategy.blueGreen")
        return self


class ModelDeploymentSpec(_Model):
    model: ModelRef
    engine: EngineSpec = EngineSpec()
    pod: PodSettings = PodSettings()
    route: RouteSpec = RouteSpec()
    strategy: StrategySpec
    paused: bool = False
    # Seconds a new revision may take to become Ready *after* its model-load budget.
    progress_deadline_seconds: int = Field(default=600, ge=1)

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


def parse_spec(raw: Any) -> ModelDeploymentSpec:
    """Validate ``.spec`` or raise `SpecError` naming the first bad field."""
    try:
        spec = ModelDeploymentSpec.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "spec"
        raise SpecError(f"spec.{where}: {first['msg']}") from err
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
