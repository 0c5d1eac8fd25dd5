"""The release manifest of a promoted revision (pure; the wire format is
`llmops_contracts.release`).

Built once per stable revision by the operator (`handlers.record_manifest`), and the same way
by ``llmops release verify`` from what the cluster shows, so the two compare field by field.
Inputs are plain data: the stable revision's template (from ``.status.history``, what was
rolled out), the pinned registry version, the workloads as read from the API server, the
load-test gate of the rollout and the model version's tags (digest, prompt templates).

Status layout (``.status.releaseManifest``): ``hash`` (the revision it describes),
``configMap`` (``<name>-release-<hash>``, key ``manifest.json``, owned by the
ModelDeployment), ``digest`` (`manifest_digest`), ``mlflowRunId`` (the run holding it as the
artifact ``release-manifest.json``, when the revision came from the registry),
``recordedAt``, ``error`` (MLflow refused or was unreachable; the ConfigMap holds it anyway).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from llmops_contracts.release import (
    EvaluationRecord,
    ModelRecord,
    RagRecord,
    ReleaseManifest,
    ReportRef,
    RouteRecord,
    Workload,
)
from llmops_operator.core.registry.resolution import (
    DIGEST_TAG,
    PROMPT_TAG_PREFIX,
    ModelResolution,
)
from llmops_operator.core.spec.schema import RevisionTemplate
from llmops_operator.core.state.status import LoadTestStatus, LoadTestVerdict, RolloutStatus

MANIFEST_KEY = "manifest.json"
MANIFEST_ARTIFACT = "release-manifest.json"
MANIFEST_EXPERIMENT = "llmops-releases"
# Model-version tags that point at the manifest (next to the llmops.release.* record).
MANIFEST_RUN_TAG = "llmops.release.manifest.run_id"
MANIFEST_DIGEST_TAG = "llmops.release.manifest.digest"
# Engine fields that are not how the model is served but how much of it runs.
_NOT_ENGINE_ARGS = ("replicas", "autoscaling")


class ManifestStatus(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    hash: str
    config_map: str
    digest: str
    mlflow_run_id: str = ""
    recorded_at: datetime | None = None
    error: str = ""

    @classmethod
    def from_raw(cls, raw: Any) -> ManifestStatus | None:
        return cls.model_validate(dict(raw)) if raw else None

    def to_raw(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def config_map_name(md_name: str, revision_hash: str) -> str:
    return f"{md_name}-release-{revision_hash}"


def should_record_manifest(
    status: RolloutStatus, recorded: ManifestStatus | None, desired_hash: str
) -> bool:
    """The desired revision is the stable one and its manifest is not written yet."""
    if status.stable_hash is None or status.stable_hash != desired_hash:
        return False
    if status.canary_hash is not None:
        return False  # a candidate runs: the release is the next promotion's
    return recorded is None or recorded.hash != desired_hash


def engine_args_of(template: RevisionTemplate) -> dict[str, str]:
    """Engine settings as flat strings (``extraArgs`` shell-joined; unset ones left out)."""
    raw = template.engine.model_dump(mode="json", by_alias=True, exclude_none=True)
    out: dict[str, str] = {}
    for key, value in sorted(raw.items()):
        if key in _NOT_ENGINE_ARGS:
            continue
        if key == "extraArgs":
            if value:
                out[key] = shlex.join(value)
        elif key == "extraEnv":
            out.update({f"env.{e['name']}": str(e.get("value", "")) for e in value})
        else:
            out[key] = str(value)
    return out


def build_release_manifest(
    *,
    namespace: str,
    name: str,
    status: RolloutStatus,
    template: RevisionTemplate,
    resolution: ModelResolution | None,
    workloads: Iterable[Workload],
    version_tags: Mapping[str, str] | None = None,
    load_test: LoadTestStatus | None = None,
    evaluations: Sequence[EvaluationRecord] = (),
    recorded_at: datetime | None = None,
    routing: tuple[RouteRecord | None, RagRecord | None] | None = None,
) -> ReleaseManifest:
    """The manifest of the stable revision ``status.stable_hash`` running ``template``.

    ``routing``: the alias's entry in the gateway's routing table, as `route_of` reads it;
    its retrieval settings are then the ones recorded (what the gateway does, not only what
    the template asked for). None: the revision is not routed through that table."""
    tags = dict(version_tags or {})
    prompts = {
        k.removeprefix(PROMPT_TAG_PREFIX): v
        for k, v in tags.items()
        if k.startswith(PROMPT_TAG_PREFIX)
    }
    rag = template.rag
    if rag is not None:
        prompts.setdefault("rag", rag.template)  # the gateway's template the revision names
    route, live_rag = routing if routing is not None else (None, None)
    report = None
    if load_test is not None:
        report = ReportRef(uri=load_test.report_url or "none", verdict=load_test.verdict.value)
    return ReleaseManifest(
        model_deployment=f"{namespace}/{name}",
        revision=status.stable_revision or template.label,
        revision_hash=status.stable_hash or "",
        recorded_at=recorded_at.isoformat() if recorded_at else "",
        model=ModelRecord(
            name=template.model.name,
            revision=template.model.revision or "",
            uri=template.model.uri or "",
            mlflow_ref=resolution.ref if resolution else "",
            version=resolution.version if resolution else "",
            digest=tags.get(DIGEST_TAG, ""),
        ),
        engine_args=engine_args_of(template),
        prompt_templates=dict(sorted(prompts.items())),
        rag=live_rag
        if routing is not None
        else (
            RagRecord(
                collection=rag.collection,
                embedder=rag.embedder,
                template=rag.template,
                top_k=rag.top_k,
            )
            if rag
            else None
        ),
        route=route,
        workloads=sorted(workloads, key=lambda w: w.name),
        load_test=report,
        evaluations=list(evaluations),
    )


def passed_evaluations(run: LoadTestStatus | None) -> list[EvaluationRecord]:
    """The records of the rollout's evaluation run, when it passed (a release is promoted
    past a passed gate, or by a person over a failed one: that run is not evidence)."""
    if run is None or run.verdict is not LoadTestVerdict.PASSED:
        return []
    return list(run.evaluations)


def stable_template(status: RolloutStatus) -> RevisionTemplate | None:
    """What the stable revision was rolled out with (its history entry)."""
    return status.template_for(status.stable_hash) if status.stable_hash else None
