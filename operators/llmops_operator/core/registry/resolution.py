"""MLflow registry references, pinned once per reference (pure: no client, no clock).

A ModelDeployment whose ``spec.model.mlflow`` names a registered model is resolved through
the registry once: alias -> version, the version's storage location -> the URI the engine
loads, its ``llmops.engine.*`` tags -> engine settings. The result is kept in
``.status.modelResolution``, so later ticks and a restarted operator never ask again; a
changed reference (name, version, alias or trackingUri) resolves anew. An alias moved in
MLflow afterwards does not start a rollout by itself: change the spec to pick it up.

Status layout (``.status.modelResolution``, camelCase on the wire):

- ``ref`` (``models:/NAME/VERSION`` or ``models:/NAME@ALIAS``), ``trackingUri``: what was
  resolved, where; ``name``, ``version``: the version it pinned; ``resolvedAt``
- ``source``: the version's storage location as registered; ``uri``: what the engine loads
  (the ``llmops.model.uri`` tag, else the source; only ``hf://``, ``s3://``, ``pvc://``)
- ``engine``: engine settings from tags (``llmops.engine.maxModelLen`` -> ``maxModelLen``);
  they fill the fields the spec leaves at their defaults, so the spec always wins
- ``rollback``: once a rollout of this version was rolled back: the tags recorded
  (``llmops.rollback.*``: when, which rollout, why, the verdicts), ``recordedAt``, ``error``
- ``release``: once the rollout of this version succeeded: the release alias to move, the
  tags and description to record (``hash`` = the revision), ``recordedAt`` when done,
  ``nextAttemptAt`` while MLflow is unreachable, ``error`` when MLflow refused it
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from llmops_operator.core.spec.schema import (
    EngineSpec,
    MlflowRef,
    ModelDeploymentSpec,
    ModelRef,
    SpecError,
)
from llmops_operator.core.state.phases import ConditionType, Phase
from llmops_operator.core.state.status import AnalysisRun, LoadTestStatus, RolloutStatus

LOADABLE_SCHEMES = ("hf://", "s3://", "pvc://")
URI_TAG = "llmops.model.uri"
ENGINE_TAG_PREFIX = "llmops.engine."
# What a model version may say about how to serve it; the rest is the platform's business.
ENGINE_TAGS = (
    "image",
    "tensorParallelSize",
    "maxModelLen",
    "dtype",
    "gpuMemoryUtilization",
    "quantization",
    "extraArgs",
    "loadBudgetSeconds",
)
RELEASE_TAG_PREFIX = "llmops.release."
ROLLBACK_TAG_PREFIX = "llmops.rollback."
# Recorded for people and release manifests (`llmops model register` writes them).
DIGEST_TAG = "llmops.model.digest"
PROMPT_TAG_PREFIX = "llmops.prompt."
MAX_TAG_VALUE = 5000  # MLflow's limit for a model version tag value
UNRESOLVABLE = "Unresolvable"  # the ModelResolved=False reason that MLflow's answer settles
NOTE_BEGIN, NOTE_END = "<!-- llmops-release -->", "<!-- /llmops-release -->"


@dataclass(frozen=True)
class RegisteredVersion:
    """A model version as the registry reports it."""

    name: str
    version: str
    source: str
    tags: dict[str, str] = field(default_factory=dict)
    description: str = ""


class _Status(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class ReleaseRecord(_Status):
    hash: str
    alias: str
    version: str
    tags: dict[str, str]
    description: str
    recorded_at: datetime | None = None
    next_attempt_at: datetime | None = None
    error: str = ""


class RollbackRecord(_Status):
    """A rollout of the pinned version that was rolled back, as recorded against it."""

    hash: str
    version: str
    tags: dict[str, str]
    recorded_at: datetime | None = None
    error: str = ""


class ModelResolution(_Status):
    ref: str
    tracking_uri: str
    name: str
    version: str
    source: str
    uri: str
    engine: dict[str, str] = {}
    resolved_at: datetime
    release: ReleaseRecord | None = None
    rollback: RollbackRecord | None = None

    @classmethod
    def from_raw(cls, raw: Any) -> ModelResolution | None:
        return cls.model_validate(dict(raw)) if raw else None

    def to_raw(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def ref_of(ref: MlflowRef) -> str:
    """``models:/NAME/VERSION`` or ``models:/NAME@ALIAS`` (MLflow's own URI forms)."""
    return f"models:/{ref.name}/{ref.version}" if ref.version else f"models:/{ref.name}@{ref.alias}"


def tracking_uri_of(ref: MlflowRef, default: str) -> str:
    uri = ref.tracking_uri or default
    if not uri:
        raise SpecError(
            "spec.model.mlflow.trackingUri: not set, and the operator has no default "
            "(LLMOPS_OPERATOR_MLFLOW_TRACKING_URI)"
        )
    return uri.rstrip("/")


def is_resolved(resolution: ModelResolution, ref: MlflowRef, tracking_uri: str) -> bool:
    """Pinned already: the stored resolution is for this very reference and registry."""
    return resolution.ref == ref_of(ref) and resolution.tracking_uri == tracking_uri


def unresolvable_message(status: RolloutStatus, generation: int) -> str | None:
    """Why this generation's reference cannot be served, when MLflow already said so (a
    spec is asked about once, not every tick; a new generation asks again)."""
    for condition in status.conditions:
        if (
            condition.type == ConditionType.MODEL_RESOLVED.value
            and condition.status == "False"
            and condition.reason == UNRESOLVABLE
            and condition.observed_generation == generation
        ):
            return condition.message
    return None


def model_uri_of(found: RegisteredVersion) -> str:
    """The URI the engine loads: the ``llmops.model.uri`` tag, else the version's source."""
    uri = found.tags.get(URI_TAG) or found.source
    if not uri.startswith(LOADABLE_SCHEMES) or len(uri) <= len(uri.split("://")[0]) + 3:
        raise SpecError(
            f"spec.model.mlflow: model version {found.name}/{found.version} has source "
            f"{uri!r}, which the engine cannot load ({', '.join(LOADABLE_SCHEMES)}); tag the "
            f"version {URI_TAG}=<one of those>"
        )
    return uri


def engine_settings_of(found: RegisteredVersion) -> dict[str, str]:
    """``llmops.engine.*`` tags by engine field; an unknown one is a mistake worth naming."""
    settings: dict[str, str] = {}
    for key, value in sorted(found.tags.items()):
        if not key.startswith(ENGINE_TAG_PREFIX):
            continue
        name = key.removeprefix(ENGINE_TAG_PREFIX)
        if name not in ENGINE_TAGS:
            raise SpecError(
                f"spec.model.mlflow: model version {found.name}/{found.version} tag {key} "
                f"is not an engine setting (one of {', '.join(ENGINE_TAGS)})"
            )
        settings[name] = value
    return settings


def build_resolution(
    ref: MlflowRef, tracking_uri: str, found: RegisteredVersion, now: datetime
) -> ModelResolution:
    """What ``ref`` pinned to; raises `SpecError` when that version cannot be served."""
    resolution = ModelResolution(
        ref=ref_of(ref),
        tracking_uri=tracking_uri,
        name=found.name,
        version=found.version,
        source=found.source,
        uri=model_uri_of(found),
        engine=engine_settings_of(found),
        resolved_at=now,
    )
    merge_engine(EngineSpec(), resolution)  # bad tag values fail now, with the tag named
    return resolution


def merge_engine(engine: EngineSpec, resolution: ModelResolution) -> EngineSpec:
    """Tag values fill the engine fields ``engine`` leaves at their defaults (CRD defaults
    are indistinguishable from a value someone typed, so a default never beats a tag)."""
    defaults = EngineSpec()
    raw = engine.model_dump(by_alias=True)
    for name, value in resolution.engine.items():
        if raw.get(name) == getattr(defaults, _snake(name)):
            raw[name] = shlex.split(value) if name == "extraArgs" else value
    try:
        return EngineSpec.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "engine"
        raise SpecError(
            f"spec.model.mlflow: model version {resolution.name}/{resolution.version} tag "
            f"{ENGINE_TAG_PREFIX}{name}: {first['msg']}"
        ) from err


def build_effective_spec(
    spec: ModelDeploymentSpec, resolution: ModelResolution
) -> ModelDeploymentSpec:
    """The spec the machine rolls out: the reference replaced by the URI it pinned (so the
    revision's template, its history entry and `undo` carry the URI), labelled with the
    MLflow version unless ``model.revision`` says otherwise, engine merged with the tags."""
    model = ModelRef(
        name=spec.model.name,
        revision=spec.model.revision or resolution.version,
        uri=resolution.uri,
    )
    return spec.model_copy(update={"model": model, "engine": merge_engine(spec.engine, resolution)})


def should_record_release(
    resolution: ModelResolution | None, status: RolloutStatus, desired_hash: str, now: datetime
) -> bool:
    """The pinned version's revision is stable and its release is not recorded yet (and,
    after an unreachable MLflow, the back-off has passed)."""
    if resolution is None or status.phase is not Phase.SUCCEEDED:
        return False
    if status.stable_hash != desired_hash:
        return False
    release = resolution.release
    if release is None or release.hash != desired_hash:
        return True
    if release.recorded_at is not None or release.error:
        return False
    return release.next_attempt_at is None or now >= release.next_attempt_at


def build_release(
    resolution: ModelResolution,
    before: RolloutStatus,
    *,
    desired_hash: str,
    deployment: str,
    alias: str,
    now: datetime,
) -> ReleaseRecord:
    """What to record against the version. ``before`` is the status the promoting tick
    started from: it still holds the load test and analysis of the rollout. A pending
    release (MLflow was unreachable) is kept as first built."""
    pending = resolution.release
    if pending is not None and pending.hash == desired_hash:
        return pending
    analysis = summarize_analysis(before.analysis_runs)
    load_test = summarize_load_test(before.load_test)
    report = before.load_test.report_url if before.load_test else ""
    tags = {
        "alias": alias,
        "at": now.isoformat(),
        "modeldeployment": deployment,
        "revision_hash": desired_hash,
        "analysis": analysis,
        "loadtest.verdict": load_test,
        "loadtest.report": report or "none",
        **evaluation_tags(before.evaluation),
    }
    lines = [
        NOTE_BEGIN,
        f"**Released** as `{alias}` by llmops-operator ({deployment}, revision "
        f"{desired_hash}) at {now.isoformat()}.",
        "",
        f"- analysis: {analysis}",
        f"- load test: {load_test}" + (f" ([report]({report}))" if report else ""),
        *evaluation_lines(before.evaluation),
        NOTE_END,
    ]
    return ReleaseRecord(
        hash=desired_hash,
        alias=alias,
        version=resolution.version,
        tags={RELEASE_TAG_PREFIX + k: v[:MAX_TAG_VALUE] for k, v in tags.items()},
        description="\n".join(lines),
    )


def should_record_rollback(
    resolution: ModelResolution | None, status: RolloutStatus, desired_hash: str
) -> bool:
    """The pinned version's revision was rolled back and that is not recorded yet."""
    if resolution is None or status.phase is not Phase.ROLLED_BACK:
        return False
    if status.canary_hash != desired_hash:
        return False
    return resolution.rollback is None or resolution.rollback.hash != desired_hash


def build_rollback(
    resolution: ModelResolution,
    status: RolloutStatus,
    *,
    desired_hash: str,
    deployment: str,
    now: datetime,
) -> RollbackRecord:
    """What to record against the version when its rollout was rolled back: ``status`` is
    the rolled-back status (it keeps the gates' results and the reason)."""
    report = status.load_test.report_url if status.load_test else ""
    tags = {
        "at": now.isoformat(),
        "modeldeployment": deployment,
        "revision_hash": desired_hash,
        "reason": status.message or "rolled back",
        "analysis": summarize_analysis(status.analysis_runs),
        "loadtest.verdict": summarize_load_test(status.load_test),
        "loadtest.report": report or "none",
        **evaluation_tags(status.evaluation),
    }
    return RollbackRecord(
        hash=desired_hash,
        version=resolution.version,
        tags={ROLLBACK_TAG_PREFIX + k: v[:MAX_TAG_VALUE] for k, v in tags.items()},
    )


def summarize_analysis(runs: list[AnalysisRun]) -> str:
    """``3 measurements: 3 Successful; ttft_p95_seconds=0.21 (<= 0.5) ...`` or ``none``."""
    if not runs:
        return "none"
    counts = Counter(run.result.value for run in runs)
    latest = {run.metric: run for run in runs}
    parts = [
        f"{m}={_num(r.value)}" + (f" (threshold {_num(r.threshold)})" if r.threshold else "")
        for m, r in latest.items()
    ]
    tally = ", ".join(f"{n} {result}" for result, n in sorted(counts.items()))
    return f"{len(runs)} measurements: {tally}; latest " + "; ".join(parts)


def summarize_load_test(load_test: LoadTestStatus | None) -> str:
    if load_test is None:
        return "none"
    message = f": {load_test.message}" if load_test.message else ""
    return f"{load_test.verdict.value} ({load_test.name}){message}"


def evaluation_tags(evaluation: LoadTestStatus | None) -> dict[str, str]:
    """The evaluation gate's verdict and report link, when the rollout had one."""
    if evaluation is None:
        return {}
    return {
        "evaluation.verdict": summarize_load_test(evaluation),
        "evaluation.report": evaluation.report_url or "none",
    }


def evaluation_lines(evaluation: LoadTestStatus | None) -> list[str]:
    if evaluation is None:
        return []
    link = f" ([report]({evaluation.report_url}))" if evaluation.report_url else ""
    return [f"- evaluation: {summarize_load_test(evaluation)}{link}"]


def merge_release_note(existing: str, note: str) -> str:
    """The version's description with our release note replacing the previous one (what a
    person wrote around it stays)."""
    kept = re.sub(rf"\n*{re.escape(NOTE_BEGIN)}.*?{re.escape(NOTE_END)}", "", existing, flags=re.S)
    return f"{kept.rstrip()}\n\n{note}" if kept.strip() else note


def release_recorded(release: ReleaseRecord, now: datetime) -> ReleaseRecord:
    return release.model_copy(update={"recorded_at": now, "next_attempt_at": None})


def release_retry(release: ReleaseRecord, now: datetime, delay_s: float) -> ReleaseRecord:
    return release.model_copy(update={"next_attempt_at": now + timedelta(seconds=delay_s)})


def release_refused(release: ReleaseRecord, message: str) -> ReleaseRecord:
    return release.model_copy(update={"error": message[:MAX_TAG_VALUE]})


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


def _num(value: float | None) -> str:
    return "none" if value is None else f"{value:.4g}"
