"""Phases of a rollout (the CRD's `status.phase` enum) and conditions (type/reason/message)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Phase(StrEnum):
    """One line each: what the operator is doing while the resource is in this phase."""

    PENDING = "Pending"  # the first revision is starting; no traffic moves yet
    PROGRESSING = "Progressing"  # a new revision is starting or its traffic weight is moving
    PAUSED = "Paused"  # waiting: a pause step, spec.paused, inconclusive analysis, or a person
    ANALYZING = "Analyzing"  # judging the new revision: Prometheus analysis or a load test
    PROMOTING = "Promoting"  # the new revision scales to full size, then takes all traffic
    SUCCEEDED = "Succeeded"  # the desired revision is stable and serves all traffic
    ROLLING_BACK = "RollingBack"  # the new revision's weight returns to 0; stable untouched
    ROLLED_BACK = "RolledBack"  # the new revision was rejected; stable serves; `retry` restarts
    FAILED = "Failed"  # the spec cannot be rolled out, or the first revision never came up

    @property
    def is_terminal(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.ROLLED_BACK, Phase.FAILED)


# Phases a stalled rollout keeps (a lost claim, a spec that no longer parses) so the machine
# resumes from them exactly: a switch or a rollback under way, or a rollout that ended without
# the candidate. Any other phase is re-derived from the stored steps on the first tick after.
KEPT_PHASES = frozenset({Phase.PROMOTING, Phase.ROLLING_BACK, Phase.ROLLED_BACK, Phase.FAILED})


class ConditionType(StrEnum):
    PROGRESSING = "Progressing"  # True while a rollout moves; reason says why it stopped
    AVAILABLE = "Available"  # True when a stable revision serves traffic
    PAUSED = "Paused"  # True while the rollout waits; reason says for what
    SPEC_VALID = "SpecValid"  # False when the spec cannot be rolled out (message names the field)
    MODEL_RESOLVED = "ModelResolved"  # spec.model.mlflow pinned to a version; False: MLflow down
    RELEASE_RECORDED = "ReleaseRecorded"  # the release alias moved to the promoted version


class Condition(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None
    observed_generation: int | None = None


def set_condition(
    conditions: list[Condition],
    kind: ConditionType,
    status: bool,
    *,
    reason: str,
    message: str,
    now: datetime,
    generation: int | None = None,
) -> list[Condition]:
    """Conditions with `kind` replaced; the transition time moves only when status flips."""
    wanted = "True" if status else "False"
    previous = next((c for c in conditions if c.type == kind.value), None)
    since = previous.last_transition_time if previous and previous.status == wanted else now
    updated = Condition(
        type=kind.value,
        status=wanted,
        reason=reason,
        message=message,
        last_transition_time=since,
        observed_generation=generation,
    )
    return [*(c for c in conditions if c.type != kind.value), updated]


def spec_valid(conditions: list[Condition], *, now: datetime, generation: int) -> list[Condition]:
    """Conditions with ``SpecValid=True`` (reason ``Valid``): the spec parses and is ours."""
    return set_condition(
        conditions, ConditionType.SPEC_VALID, True,
        reason="Valid", message="", now=now, generation=generation,
    )  # fmt: skip
