"""What the shell tells the machine (`Observations`) and what the machine answers (`Decision`).

The machine never does I/O: the shell observes the cluster, asks `plan_measurements` which
Prometheus queries are due, runs them, calls `advance`, then applies the `Decision`:
workloads (every revision that should exist, with replicas; others are deleted), traffic
(weights per revision and role), an optional load test to start, status, events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from llmops_contracts.release import EvaluationRecord
from llmops_operator.core.rollout.scaling import AutoscalerBounds
from llmops_operator.core.spec.schema import EvaluationSpec, LoadTestSpec, RevisionTemplate
from llmops_operator.core.state.status import LoadTestVerdict, MeasurementResult, RolloutStatus

Role = Literal["stable", "canary", "preview"]


@dataclass(frozen=True)
class RevisionObservation:
    """A revision's Deployment as the API server reports it, or (``ready`` set) a revision a
    backend runs and scales itself, Ready as a whole (KServe, `core.manifests.kserve`)."""

    exists: bool
    ready_replicas: int = 0
    replicas: int = 0  # spec.replicas: what its autoscaler (or the operator) asked for
    ready: bool | None = None  # None: judge by ready_replicas


@dataclass(frozen=True)
class Measurement:
    """One metric measured this tick (see `advance.plan_measurements`)."""

    metric: str
    value: float | None
    threshold: float | None
    result: MeasurementResult
    message: str = ""
    # Inconclusive only for want of data: Prometheus answered every query, with nothing (or
    # too few samples) in the window. A window still filling measures again (`run_analysis`).
    no_data: bool = False


@dataclass(frozen=True)
class LoadTestObservation:
    name: str
    verdict: LoadTestVerdict
    report_url: str = ""
    message: str = ""
    evaluations: tuple[EvaluationRecord, ...] = ()  # an evaluation run's records


@dataclass(frozen=True)
class Observations:
    generation: int = 1
    stable: RevisionObservation | None = None
    canary: RevisionObservation | None = None
    measurements: tuple[Measurement, ...] = ()
    load_test: LoadTestObservation | None = None
    # The evaluation gate run of status.evaluation, as the runner sees it (same shape).
    evaluation: LoadTestObservation | None = None
    # The llmops.dev/command annotation, only when it differs from status.lastCommand.
    command: str | None = None
    # Revisions whose Deployment an HPA or ScaledObject *not* made by this operator targets.
    autoscaled: frozenset[str] = frozenset()


@dataclass(frozen=True)
class WorkloadIntent:
    revision_hash: str
    template: RevisionTemplate | None  # None: unknown template, only scale what exists
    replicas: int  # with an autoscaler: only the count a new Deployment starts with
    autoscaler: AutoscalerBounds | None = None  # this operator's HPA/ScaledObject, bounds
    # False when an autoscaler owns spec.replicas (ours or another's): never write it then.
    write_replicas: bool = True


@dataclass(frozen=True)
class TrafficShare:
    revision_hash: str
    role: Role
    weight: int
    template: RevisionTemplate | None


@dataclass(frozen=True)
class LoadTestRequest:
    name: str
    revision_hash: str
    role: Role
    spec: LoadTestSpec


@dataclass(frozen=True)
class EvaluationRequest:
    """Start evaluation gate run ``name`` (`core.manifests.evaluation_plan`) on the revision."""

    name: str
    revision_hash: str
    role: Role
    spec: EvaluationSpec


@dataclass(frozen=True)
class Transition:
    """One Kubernetes Event (and one metric increment) per phase or step change."""

    reason: str
    message: str
    warning: bool = False


@dataclass
class Decision:
    status: RolloutStatus
    workloads: tuple[WorkloadIntent, ...] = ()
    traffic: tuple[TrafficShare, ...] = ()
    start_load_test: LoadTestRequest | None = None
    start_evaluation: EvaluationRequest | None = None
    events: list[Transition] = field(default_factory=list)
    requeue_after: float = 5.0
