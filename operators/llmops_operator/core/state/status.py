"""Typed `ModelDeployment.status`: every bit of rollout progress lives here, nowhere else.

Layout (camelCase on the wire; timers are absolute RFC 3339 timestamps, never durations,
so a restarted operator computes the same remaining time):

- ``phase``, ``message``, ``conditions[]`` (type/status/reason/message), ``observedGeneration``
- ``stableRevision``/``stableHash``: the revision serving (label for people, hash = identity)
- ``canaryRevision``/``canaryHash``: the candidate (canary or blue-green preview), if any
- ``canaryWeight``: percent of traffic on the candidate; ``currentStepIndex`` (0-based, the
  machine's), ``stepStartedAt``; ``stepDisplay``: the same step for people (``2/4``, 1-based
  as every message counts; the STEP printer column), absent when no candidate runs steps
- ``rolloutStartedAt``, ``canaryCreatedAt`` (deadline clock: the candidate's creation,
  restarted when a candidate that served loses its Ready pods), ``canaryReadyAt`` (warm-up
  clock)
- ``analysisRuns[]``: measurements of the current rollout (step, metric, value, threshold,
  result, message, at), newest last, capped
- ``loadTest``: the gate run of the current step (name, step, startedAt, verdict, reportUrl)
- ``evaluation``: likewise the evaluation gate run (RAG quality, fairness) of an
  ``evaluation`` step: the same fields, its own slot (a rollout may hold both gates), and
  ``evaluations[]``: the run's records (dataset, seed, metrics) the release manifest keeps
- ``scaleDownHash``/``scaleDownAt``: the previous revision kept scaled up for instant rollback
- ``lastCommand``: the ``llmops.dev/command`` annotation value last handled (idempotence)
- ``routedAlias``: the gateway alias whose ``routes.<alias>`` entry was last written; when
  the spec routes elsewhere (or the ModelDeployment is deleted) that entry is removed
- ``routedHttpRoute``: likewise the HTTPRoute whose backendRefs were last written; when
  ``spec.route.httpRoute`` or the router changes, this ModelDeployment's refs leave it
- ``history[]``: promoted/rejected revisions with their templates (for undo), newest last
- ``modelResolution``, ``releaseManifest``: written by their handlers, not part of this model
  (`core.registry.resolution`, `core.registry.manifest`)
- ``timeline[]``: one entry per phase, step or weight change (at, phase, step, canaryWeight,
  reason, short message, revision), oldest first, capped; ``rolloutStart`` marks the first
  entry of each rollout (`core.state.timeline` records and draws it)
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from llmops_contracts.release import EvaluationRecord
from llmops_operator.core.spec.schema import RevisionTemplate
from llmops_operator.core.state.phases import Condition, Phase

MAX_ANALYSIS_RUNS = 60
MAX_HISTORY = 10
MAX_TIMELINE = 60


class _Status(BaseModel):
    # extra="ignore": fields written by a newer operator must not break an older one.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class MeasurementResult(StrEnum):
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"  # no data, NaN, or Prometheus unreachable: never success


class AnalysisRun(_Status):
    step: int
    metric: str
    value: float | None = None
    threshold: float | None = None
    passed: bool | None = None
    result: MeasurementResult
    message: str = ""
    at: datetime
    # False: no data while the window since warm-up was still shorter than the gate's window
    # (the engine's first scrapes may not be in yet); shown, not counted, measured again.
    counted: bool = True


class LoadTestVerdict(StrEnum):
    RUNNING = "Running"
    PASSED = "Passed"
    FAILED = "Failed"


class LoadTestStatus(_Status):
    name: str
    step: int
    started_at: datetime
    verdict: LoadTestVerdict = LoadTestVerdict.RUNNING
    report_url: str = ""
    message: str = ""
    # An evaluation run's records (dataset, seed, deterministic metrics): what the release
    # manifest keeps of it and ``llmops release replay`` runs again. Empty for a load test.
    evaluations: list[EvaluationRecord] = Field(default_factory=list)


class HistoryEntry(_Status):
    revision: str
    hash: str
    result: str  # "Promoted" | "RolledBack"
    at: datetime
    message: str = ""
    template: dict[str, Any]

    def parsed_template(self) -> RevisionTemplate:
        return RevisionTemplate.model_validate(self.template)


class TimelineEntry(_Status):
    """One change of a rollout, as `kubectl llmops timeline` draws it.

    ``canary_weight`` is the traffic share of the revision the rollout brings (the
    candidate's weight; 100 once it is the stable), so the weight line ends at 100 on a
    promotion and at 0 on a rollback.
    """

    at: datetime
    phase: Phase
    step: int | None = None
    canary_weight: int = 0
    reason: str
    message: str = ""
    revision: str | None = None
    rollout_start: bool = False  # the first entry of a rollout (a new or retried candidate)
    warning: bool = False


class RolloutStatus(_Status):
    phase: Phase | None = None
    message: str = ""
    observed_generation: int | None = None
    stable_revision: str | None = None
    stable_hash: str | None = None
    canary_revision: str | None = None
    canary_hash: str | None = None
    canary_weight: int = 0
    current_step_index: int | None = None
    step_display: str | None = None
    step_started_at: datetime | None = None
    rollout_started_at: datetime | None = None
    canary_created_at: datetime | None = None
    canary_ready_at: datetime | None = None
    resolved_uri: str | None = None
    analysis_runs: list[AnalysisRun] = Field(default_factory=list)
    load_test: LoadTestStatus | None = None
    evaluation: LoadTestStatus | None = None  # an evaluation step's run (same shape)
    scale_down_hash: str | None = None
    scale_down_at: datetime | None = None
    last_command: str | None = None
    routed_alias: str | None = None
    routed_http_route: str | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)

    @classmethod
    def from_raw(cls, raw: Any) -> RolloutStatus:
        """Parse ``.status`` as stored; kopf's own bookkeeping keys are ignored."""
        return cls.model_validate(dict(raw or {}))

    def to_raw(self) -> dict[str, Any]:
        """The JSON written to the status subresource (None fields included, to clear them)."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        # A top-level null deletes the field under a merge patch; nested nulls would be
        # stored as-is (lists are replaced whole) and fail the CRD schema, so they are left out.
        for field_name, info in type(self).model_fields.items():
            data.setdefault(info.alias or field_name, None)
        return data

    def template_for(self, revision_hash: str) -> RevisionTemplate | None:
        for entry in reversed(self.history):
            if entry.hash == revision_hash:
                return entry.parsed_template()
        return None
