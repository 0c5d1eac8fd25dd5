"""What the demo applies and reads, as pure functions over plain data (no I/O): the
ModelDeployment and its revision-2 patch, the sample corpus's request, how a rollout reads in
one line and how it ended, and the tally of the steady client load."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from llmops_infra.charts import local
from llmops_operator.core.spec.schema import SpecError, parse_spec
from llmops_operator.views.status_text import describe_step

NAME = "chat"  # the demo's ModelDeployment and its gateway alias
DEFAULT_NAMESPACE = "llmops"  # the stack's namespace: the operator and the gateway live there
CORPUS = Path("examples/corpus")  # relative to the checkout: the sample documents
COLLECTION = "handbook"
QUESTION = "How long are application logs kept?"
STRICT_SLO = "ttft_p95_s <= 0.001"  # no CPU answers within a millisecond: the gate must fail
# The old revision stays up this long after the switch (and a rolled-back candidate after its
# weight went to 0): longer than a gateway takes to see the new routing table, so no request
# meets a pod that left. The local node's kubelet refreshes a mounted ConfigMap within
# `node_spec.KUBELET_SYNC_S` (10 s; a kubelet's default is a minute: on other clusters, 90 s).
SCALE_DOWN_DELAY_S = 30
REGISTERED_MODEL = local.GENERATE_MODEL  # the demo's model in the MLflow registry
# The demo's MLflow listens here on the node's address (any free port when taken): the same
# tracking URI on every run, so a later demo's revision 1 is the one a previous demo left
# (the URI is part of the revision; see `can_keep_revision_1`).
REGISTRY_PORT = 5000
RELEASE_ALIAS = "production"  # the alias the operator moves at promotion (its default)
REVISION_2_ARG = "--max-num-seqs=4"

# The canary of revision 2: a fifth of the traffic, the load-test gate in a Job (through the
# gateway, the canary pinned), analysis on the in-cluster Prometheus over the same minute, then
# half the traffic and a short pause before the switch. Sized for vLLM on 2 CPU cores.
LOAD_TEST: dict[str, Any] = {
    "profile": "chat",
    "users": 2,
    "duration": "20s",
    "inputTokens": 16,
    "outputTokens": 8,
    "minRequests": 2,
    # a base 270M model now and then answers nothing (an error to the load test)
    "slos": ["error_ratio <= 0.2", "ttft_p95_s <= 60"],
}
ANALYSIS: dict[str, Any] = {
    "interval": "5s",
    "count": 2,
    "window": "1m",
    "maxErrorRate": 0.2,
    "maxTtftP95Seconds": 30,
}


@dataclass(frozen=True)
class RegisteredVersion:
    """A version of the demo's registered model, as the demo registers it in MLflow."""

    version: str
    source: str  # where the weights are (the operator loads it: hf://, s3:// or pvc://)
    description: str


class Outcome(StrEnum):
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled back"
    FAILED = "failed"


def build_steps(*, fail_gate: bool) -> list[dict[str, Any]]:
    gate = {**LOAD_TEST, "slos": [STRICT_SLO]} if fail_gate else dict(LOAD_TEST)
    return [
        {"setWeight": 20},
        {"loadTest": gate},
        {"analysis": dict(ANALYSIS)},
        {"setWeight": 50},
        {"pause": {"duration": "5s"}},
    ]


def build_demo_deployment(
    stack_overlay: dict[str, Any], *, fail_gate: bool, tracking_uri: str
) -> dict[str, Any]:
    """Revision 1 of the demo's ModelDeployment: Gemma on the real node like the overlay's
    vLLM release, version 1 of the registered model in the MLflow at ``tracking_uri``, alias
    ``chat`` with RAG over the sample corpus."""
    md = local.build_model_deployment(
        stack_overlay, name=NAME, alias=NAME, revision="1", steps=build_steps(fail_gate=fail_gate)
    )
    model = md["spec"]["model"]
    model.pop("uri")  # where the weights are comes from the registry: the version's source
    model["mlflow"] = {"name": REGISTERED_MODEL, "version": "1", "trackingUri": tracking_uri}
    md["spec"]["route"]["rag"] = {
        "collection": COLLECTION,
        "embedder": local.EMBED_MODEL,
        "topK": 3,
    }
    md["spec"]["strategy"]["canary"]["scaleDownDelaySeconds"] = SCALE_DOWN_DELAY_S
    md["spec"]["strategy"]["canary"]["abortScaleDownDelaySeconds"] = SCALE_DOWN_DELAY_S
    annotations = md["metadata"].setdefault("annotations", {})
    annotations[REVISION_1_ANNOTATION] = revision_1_digest(md)
    return md


# The digest of what revision 1 runs, on the demo's ModelDeployment: a later demo whose
# revision 1 is the same keeps it instead of loading it again (`can_keep_revision_1`).
REVISION_1_ANNOTATION = "llmops.dev/demo-revision-1"


def revision_1_digest(md: dict[str, Any]) -> str:
    """SHA-256 (16 hex) of the spec without the canary's steps: the steps are what the gate
    does to revision 2 (``--fail-gate`` changes only them), not what revision 1 runs."""
    spec = copy.deepcopy(md["spec"])
    spec["strategy"]["canary"].pop("steps", None)
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def can_keep_revision_1(found: dict[str, Any], md: dict[str, Any]) -> bool:
    """Whether the ModelDeployment a previous demo left can stay: it was made from the same
    revision 1 (its annotation), revision 1 is its stable, and no rollout is running (it
    ended promoted at 1, or revision 2 was rolled back). Applying ``md`` then only changes
    the steps (and returns a rejected revision 2's spec to 1): no pod is made or removed."""
    annotations = (found.get("metadata") or {}).get("annotations") or {}
    status = found.get("status") or {}
    return (
        annotations.get(REVISION_1_ANNOTATION) == revision_1_digest(md)
        and is_seen(found)
        and status.get("stableRevision") == "1"
        and status.get("phase") in ("Succeeded", "RolledBack")
    )


def build_registered_versions(stack_overlay: dict[str, Any]) -> list[RegisteredVersion]:
    """What a training pipeline registered: versions 1 and 2 of the model, the same weights
    (the overlay's model claim), version 2 meant to serve with other engine flags."""
    uri = stack_overlay["llm-inference"]["model"]["uri"]
    return [
        RegisteredVersion("1", uri, "revision 1: the engine flags of the chart, RAG topK 3"),
        RegisteredVersion("2", uri, f"revision 2: {REVISION_2_ARG}, RAG topK 2"),
    ]


def build_revision_patch(md: dict[str, Any]) -> str:
    """Revision 2: version 2 of the registered model, other engine flags (at most 4 sequences
    at once) and retrieval settings (2 passages instead of 3), as a merge patch."""
    engine_args = [*md["spec"]["engine"]["extraArgs"], REVISION_2_ARG]
    rag = {**md["spec"]["route"]["rag"], "topK": 2}
    patch = {
        "spec": {
            "model": {"revision": "2", "mlflow": {"version": "2"}},
            "engine": {"extraArgs": engine_args},
            "route": {"rag": rag},
        }
    }
    return json.dumps(patch, separators=(",", ":"))


def build_ingest_request(documents: dict[str, str]) -> dict[str, Any]:
    """``POST /v1/ingest`` of the corpus (name -> Markdown text)."""
    return {
        "collection": COLLECTION,
        "embedder": local.EMBED_MODEL,
        "documents": [
            {"name": name, "text": text, "media_type": "text/markdown"}
            for name, text in sorted(documents.items())
        ],
    }


def rollout_outcome(obj: dict[str, Any], revision: str) -> Outcome | None:
    """How the rollout of ``revision`` ended, or None while it runs (or the operator has not
    seen the latest spec yet: the status still describes the previous revision)."""
    status = obj.get("status") or {}
    if not is_seen(obj):
        return None
    phase = status.get("phase")
    if phase == "Succeeded" and status.get("stableRevision") == revision:
        return Outcome.PROMOTED
    if phase == "RolledBack" and status.get("canaryRevision") == revision:
        return Outcome.ROLLED_BACK
    if phase == "Failed":
        return Outcome.FAILED
    return None


def progress_reason(obj: dict[str, Any]) -> str:
    """The reason of the Progressing condition (why the rollout moved or stopped)."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next(
        (str(c.get("reason", "")) for c in conditions if c.get("type") == "Progressing"), ""
    )


def is_seen(obj: dict[str, Any]) -> bool:
    """Whether the status describes the latest spec (the operator has ticked since)."""
    status = obj.get("status") or {}
    return bool(status.get("observedGeneration") == (obj.get("metadata") or {}).get("generation"))


def describe_progress(obj: dict[str, Any]) -> str:
    """One line: phase, the candidate's current step (worded as `kubectl llmops status`
    words it), its traffic share, and the operator's message (step N/M, a gate's verdict).

    A first revision runs no steps: it has no stable to share traffic with."""
    status = obj.get("status") or {}
    parts = [str(status.get("phase") or "Pending")]
    candidate = status.get("canaryRevision")
    index = status.get("currentStepIndex")
    if candidate and status.get("stableRevision") and isinstance(index, int):
        try:
            steps = parse_spec(obj.get("spec")).strategy.canary
        except SpecError:
            steps = None
        if steps is not None and 0 <= index < len(steps.steps):
            parts.append(describe_step(steps.steps[index]))
        parts.append(f"revision {candidate} at {status.get('canaryWeight', 0)}%")
    if status.get("message"):
        parts.append(str(status["message"]))
    return "  ".join(parts)


def unexpected_outcome(outcome: Outcome, reason: str, *, fail_gate: bool) -> bool:
    """Whether the rollout ended other than the demo shows: revision 2 promoted, or with
    ``fail_gate`` rolled back by its load-test gate."""
    if fail_gate:
        return not (outcome is Outcome.ROLLED_BACK and reason == "LoadTestFailed")
    return outcome is not Outcome.PROMOTED


def gate_job(obj: dict[str, Any]) -> str:
    """The gate Job's name of the rollout's load test (`JobLoadTestRunner`'s naming), or ''."""
    status = obj.get("status") or {}
    run = (status.get("loadTest") or {}).get("name")
    name = (obj.get("metadata") or {}).get("name")
    return f"{name}-{run}".lower() if run and name else ""


@dataclass
class Tally:
    """The steady client load's requests: every one counted, every failure kept (why)."""

    ok: int = 0
    failures: list[str] = field(default_factory=list)
    by_backend: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.ok + len(self.failures)

    def record(self, backend: str, failure: str = "") -> None:
        if failure:
            self.failures.append(failure)
        else:
            self.ok += 1
            self.by_backend[backend] = self.by_backend.get(backend, 0) + 1

    def summary(self) -> str:
        served = ", ".join(f"{name} {count}" for name, count in sorted(self.by_backend.items()))
        return f"{self.total} requests, {len(self.failures)} failed" + (
            f" (served by {served})" if served else ""
        )


def judge_stream(status: int, body: str) -> str:
    """Why a streamed chat completion failed, or '' when it is whole: HTTP 200, chunks, no
    error event, and the closing ``data: [DONE]`` (a cut stream has none)."""
    if status != 200:
        return f"HTTP {status}: {body[:120]}"
    events = [line[5:].strip() for line in body.splitlines() if line.startswith("data:")]
    errors = [event for event in events if '"error"' in event]
    if errors:
        return f"error event: {errors[0][:120]}"
    if not events or events[-1] != "[DONE]":
        return "stream cut before data: [DONE]"
    return ""


def clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"
