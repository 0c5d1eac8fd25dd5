"""The MLflow side of a reconcile tick: pin ``spec.model.mlflow`` once, record the release.

`resolve_model` runs before the machine: it returns the spec with the registry reference
replaced by what it pinned (see `core.registry.resolution`), asking MLflow only when the
reference is not pinned yet. `record_release` runs after the decision is applied: when the pinned
version's revision has become stable, the release alias moves to it and the release
(analysis, load-test verdict and report) is recorded against it, once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

import kopf

from llmops_operator.clients.mlflow import (
    MlflowRegistry,
    RegistryRejectedError,
    RegistryUnavailableError,
)
from llmops_operator.core.registry.resolution import (
    UNRESOLVABLE,
    ModelResolution,
    ReleaseRecord,
    RollbackRecord,
    build_effective_spec,
    build_release,
    build_resolution,
    build_rollback,
    is_resolved,
    merge_release_note,
    release_recorded,
    release_refused,
    release_retry,
    should_record_release,
    should_record_rollback,
    tracking_uri_of,
    unresolvable_message,
)
from llmops_operator.core.rollout.interface import Decision, Transition
from llmops_operator.core.spec.schema import (
    MlflowRef,
    ModelDeploymentSpec,
    SpecError,
    template_hash,
    template_of,
)
from llmops_operator.core.state.phases import ConditionType, set_condition
from llmops_operator.core.state.status import RolloutStatus
from llmops_operator.settings import OperatorSettings

STATUS_KEY = "modelResolution"


def resolve_model(
    settings: OperatorSettings,
    spec: ModelDeploymentSpec,
    status: RolloutStatus,
    raw_status: Any,
    *,
    generation: int,
    now: datetime,
) -> tuple[ModelDeploymentSpec, ModelResolution | None]:
    """The spec to roll out and the pinned resolution (None for a plain ``model.uri``).

    Raises `SpecError` (unknown model, version or alias; unloadable source; bad tags) and
    `RegistryUnavailableError` (ask again later).
    """
    ref = spec.model.mlflow
    if ref is None:
        return spec, None
    tracking_uri = tracking_uri_of(ref, settings.mlflow_tracking_uri)
    stored = ModelResolution.from_raw(dict(raw_status or {}).get(STATUS_KEY))
    if stored is not None and is_resolved(stored, ref, tracking_uri):
        resolution = stored
    else:
        known = unresolvable_message(status, generation)
        if known is not None:
            raise SpecError(known)  # this spec was answered already: do not ask every tick
        try:
            resolution = _ask(settings, ref, tracking_uri, now)
        except SpecError as err:
            status.conditions = set_condition(
                status.conditions,
                ConditionType.MODEL_RESOLVED,
                False,
                reason=UNRESOLVABLE,
                message=str(err),
                now=now,
                generation=generation,
            )
            raise
    status.resolved_uri = resolution.uri
    status.conditions = set_condition(
        status.conditions,
        ConditionType.MODEL_RESOLVED,
        True,
        reason="Resolved",
        message=f"{resolution.ref} is version {resolution.version} ({resolution.uri})",
        now=now,
        generation=generation,
    )
    return build_effective_spec(spec, resolution), resolution


def _ask(
    settings: OperatorSettings, ref: MlflowRef, tracking_uri: str, now: datetime
) -> ModelResolution:
    registry = MlflowRegistry(tracking_uri, settings.mlflow_timeout_s)
    try:
        if ref.alias is not None:
            found = registry.version_by_alias(ref.name, ref.alias)
        else:
            found = registry.model_version(ref.name, ref.version or "")
    except RegistryRejectedError as err:
        raise SpecError(f"spec.model.mlflow: {err}") from err
    return build_resolution(ref, tracking_uri, found, now)


def wait_for_registry(
    err: RegistryUnavailableError,
    *,
    settings: OperatorSettings,
    status: RolloutStatus,
    generation: int,
    now: datetime,
    patch: kopf.Patch,
) -> NoReturn:
    """MLflow cannot be asked now: say so in a condition, retry after a delay."""
    status.conditions = set_condition(
        status.conditions,
        ConditionType.MODEL_RESOLVED,
        False,
        reason="RegistryUnreachable",
        message=str(err),
        now=now,
        generation=generation,
    )
    patch.status.update(status.to_raw())
    raise kopf.TemporaryError(str(err), delay=settings.mlflow_retry_s) from err


def record_release(
    settings: OperatorSettings,
    *,
    spec: ModelDeploymentSpec,
    resolution: ModelResolution | None,
    before: RolloutStatus,
    decision: Decision,
    deployment: str,
    now: datetime,
    patch: kopf.Patch,
) -> None:
    """Move the release alias and record the release, once per promoted revision (with a
    condition and a transition in ``decision``); always writes the resolution to
    ``.status.modelResolution`` (None clears it)."""
    if resolution is None:
        patch.status[STATUS_KEY] = None
        return
    desired_hash = template_hash(template_of(spec))
    after = decision.status
    if should_record_release(resolution, after, desired_hash, now):
        release = build_release(
            resolution,
            before,
            desired_hash=desired_hash,
            deployment=deployment,
            alias=settings.mlflow_release_alias,
            now=now,
        )
        release, ok, reason, message = _push(settings, resolution, release, now)
        resolution = resolution.model_copy(update={"release": release})
        after.conditions = set_condition(
            after.conditions,
            ConditionType.RELEASE_RECORDED,
            ok,
            reason=reason,
            message=message,
            now=now,
        )
        patch.status.update(after.to_raw())
        decision.events.append(Transition(reason, message, warning=not ok))
    elif should_record_rollback(resolution, after, desired_hash):
        resolution = _record_rollback(
            settings, resolution, build_rollback(resolution, after, desired_hash=desired_hash,
                                                 deployment=deployment, now=now),
            decision, now,
        )  # fmt: skip
    patch.status[STATUS_KEY] = resolution.to_raw()


def _record_rollback(
    settings: OperatorSettings,
    resolution: ModelResolution,
    rollback: RollbackRecord,
    decision: Decision,
    now: datetime,
) -> ModelResolution:
    """Tag the version with its rollback; an unreachable MLflow is asked again next tick."""
    registry = MlflowRegistry(resolution.tracking_uri, settings.mlflow_timeout_s)
    name, version = resolution.name, resolution.version
    try:
        registry.set_version_tags(name, version, rollback.tags)
    except RegistryUnavailableError as err:
        decision.events.append(Transition(
            "RegistryUnreachable", f"rollback not recorded yet: {err}", warning=True))  # fmt: skip
        return resolution
    except RegistryRejectedError as err:
        recorded = rollback.model_copy(update={"error": str(err)})
        decision.events.append(Transition("RollbackRejected", str(err), warning=True))
        return resolution.model_copy(update={"rollback": recorded})
    recorded = rollback.model_copy(update={"recorded_at": now})
    decision.events.append(Transition(
        "RollbackRecorded", f"{name} version {version}: rollback recorded"))  # fmt: skip
    return resolution.model_copy(update={"rollback": recorded})


def _push(
    settings: OperatorSettings, resolution: ModelResolution, release: ReleaseRecord, now: datetime
) -> tuple[ReleaseRecord, bool, str, str]:
    """Tags and description first, the alias last: the alias is what others act on."""
    registry = MlflowRegistry(resolution.tracking_uri, settings.mlflow_timeout_s)
    name, version = resolution.name, resolution.version
    try:
        current = registry.model_version(name, version)
        registry.set_version_tags(name, version, release.tags)
        note = merge_release_note(current.description, release.description)
        registry.set_description(name, version, note)
        registry.set_alias(name, release.alias, version)
    except RegistryUnavailableError as err:
        retry = release_retry(release, now, settings.mlflow_retry_s)
        return retry, False, "RegistryUnreachable", f"release not recorded yet: {err}"
    except RegistryRejectedError as err:
        return release_refused(release, str(err)), False, "ReleaseRejected", str(err)
    message = f"{name} version {version} is now {release.alias!r}; release recorded"
    return release_recorded(release, now), True, "ReleaseRecorded", message
