"""The KServe backend (pure): what the operator reads from and writes to an InferenceService.

With ``route.router: kserve`` KServe runs every revision inside the user's InferenceService
(``serving.kserve.io/v1beta1``; canary splitting needs its Serverless mode) and the operator
runs no Deployment, Service or autoscaler of its own. Of ``spec.predictor`` it owns:

- the model URI of the revision the InferenceService describes, which KServe makes its
  *latest* revision: ``model.storageUri`` (or a framework predictor's ``storageUri``), else
  the ``STORAGE_URI`` env of the ``kserve-container`` container (the llm-inference chart's
  ``mode: kserve``); runtime, model format, image, args and resources stay the user's;
- ``annotations[llmops.dev/revision-hash]``: that revision's hash. Annotations reach the
  pod template, so every revision of ours is a new KServe revision (also when only the
  ModelDeployment's engine settings changed, which KServe's predictor does not take);
- ``annotations[llmops.dev/created-after]``: KServe's ``latestCreatedRevision`` when the hash
  was written, so the next revision KServe creates is known to be ours (KServe's status
  names revisions, not what they run, and its ``observedGeneration`` is the Knative
  Service's, not the InferenceService's);
- ``canaryTrafficPercent``: the latest revision's share; KServe gives the rest to its
  ``latestRolledoutRevision`` (the last one that had 100 %).

Which revision is described: the candidate while there is one (also after a rollback:
KServe's documented rollback keeps the rejected revision as latest at 0 %, ready for
`retry`), else the stable. Readiness comes from KServe's status (`read_state`):
the described revision is Ready once KServe created it, it is the ``latestReadyRevision``
and ``PredictorReady`` is True.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmops_operator.core.manifests.router_weights import build_canary_traffic_percent
from llmops_operator.core.rollout.interface import RevisionObservation, TrafficShare
from llmops_operator.core.spec.schema import ModelDeploymentSpec, template_hash, template_of
from llmops_operator.core.state.status import RolloutStatus

HASH_ANNOTATION = "llmops.dev/revision-hash"
AFTER_ANNOTATION = "llmops.dev/created-after"
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
CONTAINER = "kserve-container"  # KServe's name for a custom predictor's serving container
STORAGE_URI_ENV = "STORAGE_URI"
# v1beta1 framework predictors (older than `model`); each holds a storageUri of its own.
FRAMEWORKS = (
    "huggingface",
    "lightgbm",
    "onnx",
    "paddle",
    "pmml",
    "pytorch",
    "sklearn",
    "tensorflow",
    "triton",
    "xgboost",
)


class InferenceServiceError(ValueError):
    """The InferenceService cannot carry the rollout; the message says what to change."""


@dataclass(frozen=True)
class InferenceServiceState:
    """What the operator reads from one InferenceService (`read_state`); "" when unset."""

    described_hash: str | None  # ours, from the predictor's annotations
    created_after: str
    latest_created: str
    latest_ready: str
    rolled_out: str  # latestRolledoutRevision: what gets the rest of the traffic
    predictor_ready: bool

    @property
    def described_revision(self) -> str | None:
        """KServe's revision of the described hash; None until KServe has created it."""
        if self.described_hash is None or self.latest_created in ("", self.created_after):
            return None
        return self.latest_created

    @property
    def is_described_ready(self) -> bool:
        revision = self.described_revision
        return revision is not None and self.latest_ready == revision and self.predictor_ready


@dataclass(frozen=True)
class KServeIntent:
    """What the InferenceService should describe, and the latest revision's share."""

    revision_hash: str
    storage_uri: str
    percent: int


def read_state(isvc: Mapping[str, Any] | None) -> InferenceServiceState:
    """The fields of ``isvc`` the backend acts on (None: the InferenceService is missing)."""
    spec = (isvc or {}).get("spec") or {}
    annotations = (spec.get("predictor") or {}).get("annotations") or {}
    status = (isvc or {}).get("status") or {}
    predictor = (status.get("components") or {}).get("predictor") or {}
    ready = any(
        c.get("type") == "PredictorReady" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    return InferenceServiceState(
        described_hash=annotations.get(HASH_ANNOTATION) or None,
        created_after=str(annotations.get(AFTER_ANNOTATION) or ""),
        latest_created=str(predictor.get("latestCreatedRevision") or ""),
        latest_ready=str(predictor.get("latestReadyRevision") or ""),
        rolled_out=str(predictor.get("latestRolledoutRevision") or ""),
        predictor_ready=ready,
    )


def build_revision_observations(
    state: InferenceServiceState, status: RolloutStatus
) -> tuple[RevisionObservation | None, RevisionObservation | None]:
    """(stable, candidate) as the machine sees them, from KServe's status. KServe scales its
    revisions: each is Ready as a whole (`RevisionObservation.ready`), never by replicas."""
    described_ready = state.is_described_ready

    def seen(revision_hash: str | None, *, serving: bool) -> RevisionObservation | None:
        if revision_hash is None:
            return None
        if revision_hash == state.described_hash:
            exists = state.described_revision is not None
            return RevisionObservation(exists=exists or serving, ready=described_ready or serving)
        return RevisionObservation(exists=serving, ready=serving)

    # The stable serves from KServe's rolled-out revision until the one described is Ready.
    stable = seen(status.stable_hash, serving=state.rolled_out != "")
    # A candidate is only ever the revision described (written the tick it starts).
    candidate = seen(status.canary_hash, serving=False)
    return stable, candidate


def build_kserve_intent(
    spec: ModelDeploymentSpec, status: RolloutStatus, traffic: Sequence[TrafficShare]
) -> KServeIntent | None:
    """The candidate while there is one (a rejected one too, see the module docstring), else
    the stable; None before any revision, or when its template is unknown (nothing to write)."""
    described = status.canary_hash or status.stable_hash
    if described is None:
        return None
    desired = template_of(spec)
    template = desired if template_hash(desired) == described else status.template_for(described)
    if template is None or template.model.uri is None:
        return None
    percent = build_canary_traffic_percent(traffic, status.phase)
    return KServeIntent(described, template.model.uri, percent)


def build_predictor_patch(isvc: Mapping[str, Any], intent: KServeIntent) -> dict[str, Any] | None:
    """The merge patch of ``spec.predictor`` that makes the InferenceService describe
    ``intent``; None when everything is in place. Raises `InferenceServiceError` when the
    predictor has no place for a model URI, or KServe runs it in RawDeployment mode."""
    predictor: Mapping[str, Any] = (isvc.get("spec") or {}).get("predictor") or {}
    mode = ((isvc.get("metadata") or {}).get("annotations") or {}).get(MODE_ANNOTATION)
    mode = mode or (isvc.get("status") or {}).get("deploymentMode")
    if mode == "RawDeployment":
        raise InferenceServiceError(
            f"{MODE_ANNOTATION} is RawDeployment: KServe splits canary traffic (and reports "
            "revisions) only in Serverless mode"
        )
    state = read_state(isvc)
    patch = build_storage_uri_patch(predictor, intent.storage_uri)
    described_ready = state.is_described_ready
    if state.described_hash != intent.revision_hash:
        # A new revision for KServe: the next one it creates after `latest_created` is ours.
        annotations = {
            HASH_ANNOTATION: intent.revision_hash,
            AFTER_ANNOTATION: state.latest_created,
        }
        patch["annotations"] = annotations
        described_ready = False
    percent = intent.percent
    if percent > 0 and not described_ready and state.latest_ready != state.rolled_out:
        # KServe's latest *ready* revision is one it never rolled out (a rejected candidate):
        # a share for "latest" would reach it until ours is Ready. The rolled-out one keeps
        # everything meanwhile (0 %); a later tick gives the share once ours is Ready.
        percent = 0
    if predictor.get("canaryTrafficPercent") != percent:
        patch["canaryTrafficPercent"] = percent
    return {"spec": {"predictor": patch}} if patch else None


def build_storage_uri_patch(predictor: Mapping[str, Any], uri: str) -> dict[str, Any]:
    """The predictor fields that point it at ``uri`` (empty when they already do): the first
    of ``model``, a framework predictor, the ``kserve-container``'s ``STORAGE_URI`` env."""
    for key in ("model", *FRAMEWORKS):
        held = predictor.get(key)
        if isinstance(held, Mapping):
            return {} if held.get("storageUri") == uri else {key: {"storageUri": uri}}
    containers: list[dict[str, Any]] = copy.deepcopy(list(predictor.get("containers") or []))
    serving = next((c for c in containers if c.get("name") == CONTAINER), None)
    if serving is None and len(containers) == 1 and not containers[0].get("name"):
        serving = containers[0]  # KServe names a lone unnamed container kserve-container
    if serving is None:
        raise InferenceServiceError(
            "spec.predictor has neither model.storageUri nor a kserve-container to point at "
            "the new model (the llm-inference chart in mode: kserve renders one)"
        )
    env = list(serving.get("env") or [])
    current = next((e for e in env if e.get("name") == STORAGE_URI_ENV), None)
    if current is not None and current.get("value") == uri and "valueFrom" not in current:
        return {}
    entry = {"name": STORAGE_URI_ENV, "value": uri}
    serving["env"] = [entry if e is current else e for e in env] if current else [*env, entry]
    # A merge patch replaces a list whole: every container goes back as read.
    return {"containers": containers}
