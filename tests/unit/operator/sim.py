"""A tiny simulated world for stepping the machine tick by tick (tests only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from llmops_operator.core.rollout.advance import advance, plan_measurements
from llmops_operator.core.rollout.interface import (
    Decision,
    LoadTestObservation,
    Measurement,
    Observations,
    RevisionObservation,
)
from llmops_operator.core.spec.schema import ModelDeploymentSpec, parse_spec
from llmops_operator.core.state.status import MeasurementResult, RolloutStatus

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_spec(**overrides: Any) -> ModelDeploymentSpec:
    raw: dict[str, Any] = {
        "model": {"name": "gemma", "revision": "1", "uri": "hf://google/gemma-3-270m"},
        "engine": {"replicas": 2, "loadBudgetSeconds": 60},
        "progressDeadlineSeconds": 30,
        "strategy": {
            "canary": {
                "warmupSeconds": 10,
                "scaleDownDelaySeconds": 5,
                "abortScaleDownDelaySeconds": 0,
                "steps": [
                    {"setWeight": 20},
                    {"pause": {"duration": "30s"}},
                    {"analysis": {"interval": "10s", "count": 2, "maxTtftP95Seconds": 0.5}},
                    {"setWeight": 50},
                ],
            }
        },
    }
    raw.update(overrides)
    return parse_spec(raw)


def with_revision(spec: ModelDeploymentSpec, revision: str) -> ModelDeploymentSpec:
    raw = spec.model_dump(by_alias=True, exclude_none=True)
    raw["model"]["revision"] = revision
    return parse_spec(raw)


@dataclass
class World:
    """Deployments become Ready when the test says so; metrics answer what the test sets."""

    spec: ModelDeploymentSpec
    now: datetime = T0
    status: RolloutStatus = field(default_factory=RolloutStatus)
    ready: dict[str, int] = field(default_factory=dict)  # revision hash -> ready replicas
    # revision hash -> spec.replicas, as the operator or an autoscaler last set it
    scale: dict[str, int] = field(default_factory=dict)
    autoscaled: frozenset[str] = frozenset()  # revisions some other HPA targets
    metric_value: float | None = 0.2  # what "Prometheus" answers; None = no data
    prometheus_up: bool = True
    load_test: LoadTestObservation | None = None
    evaluation: LoadTestObservation | None = None
    last: Decision | None = None

    def tick(self, seconds: float = 0, command: str | None = None) -> Decision:
        self.now += timedelta(seconds=seconds)
        s = self.status
        measurements = tuple(
            self._measure(q.metric, q.max)
            for q in plan_measurements(self.spec, s, "ns", "gemma-x", self.now)
        )
        obs = Observations(
            stable=self._seen(s.stable_hash),
            canary=self._seen(s.canary_hash),
            measurements=measurements,
            load_test=self.load_test,
            evaluation=self.evaluation,
            command=command,
            autoscaled=self.autoscaled,
        )
        self.last = advance(self.spec, s, obs, self.now)
        self.status = self.last.status
        return self.last

    def make_ready(self, decision: Decision | None = None) -> None:
        """Every requested workload becomes Ready at its requested size; an autoscaled one
        at its current size clamped into its bounds (what an HPA controller does)."""
        for w in (decision or self.last or Decision(self.status)).workloads:
            size = self.scale.get(w.revision_hash, w.replicas)
            if w.autoscaler is not None:
                bounds = w.autoscaler
                size = min(bounds.max_replicas, max(bounds.min_replicas, size))
            elif w.write_replicas:
                size = w.replicas
            self.scale[w.revision_hash] = self.ready[w.revision_hash] = size

    def autoscale(self, revision_hash: str | None, replicas: int) -> None:
        """An autoscaler moved this revision to ``replicas`` (all of them Ready)."""
        assert revision_hash is not None
        self.scale[revision_hash] = self.ready[revision_hash] = replicas

    def _seen(self, revision_hash: str | None) -> RevisionObservation | None:
        if revision_hash is None:
            return None
        ready = self.ready.get(revision_hash, 0)
        replicas = self.scale.get(revision_hash, ready)
        return RevisionObservation(exists=True, ready_replicas=ready, replicas=replicas)

    def _measure(self, metric: str, bound: float | None) -> Measurement:
        if not self.prometheus_up:
            return Measurement(metric, None, bound, MeasurementResult.INCONCLUSIVE, "unreachable")
        value = self.metric_value
        if value is None:
            return Measurement(metric, None, bound, MeasurementResult.INCONCLUSIVE, "no data",
                               no_data=True)  # fmt: skip
        ok = bound is None or value <= bound
        result = MeasurementResult.SUCCESSFUL if ok else MeasurementResult.FAILED
        return Measurement(metric, value, bound, result)

    def weights(self) -> dict[str, int]:
        assert self.last is not None
        return {share.role: share.weight for share in self.last.traffic}

    def bounds(self) -> dict[str, tuple[int, int] | None]:
        """Autoscaler (min, max) per revision hash; None: the operator sets replicas."""
        assert self.last is not None
        return {
            w.revision_hash: (w.autoscaler.min_replicas, w.autoscaler.max_replicas)
            if w.autoscaler
            else None
            for w in self.last.workloads
        }

    def replicas(self) -> dict[str, int]:
        assert self.last is not None
        return {w.revision_hash: w.replicas for w in self.last.workloads}


def deployed(spec: ModelDeploymentSpec) -> World:
    """A world whose first revision is already stable."""
    world = World(spec)
    world.tick()
    world.make_ready()
    world.tick()
    assert world.status.phase == "Succeeded", world.status.message
    return world
