"""The Events the rollout handler posts, tick by tick: `reconcile_rollout` with a fake poster.

The handler runs as kopf's timer calls it; only its Kubernetes I/O is faked: the revisions it
observes (every revision Ready), the claims (always ours), and applying the decision (what
would reach the cluster is the status patch). Between ticks the patch is merged into the
stored object, which the next tick reads, as kopf's watch delivers it. The machine, the
command annotation and the posting of Events are the real ones.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import kopf
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmops_operator.core.rollout.interface import Decision, RevisionObservation
from llmops_operator.core.spec.schema import ModelDeploymentSpec
from llmops_operator.core.state.status import RolloutStatus
from llmops_operator.handlers import reconcile_rollout as handler
from llmops_operator.settings import OperatorSettings
from llmops_operator.tracing import build_tracer, deployment_attributes
from llmops_operator.views.status_text import apply_merge_patch, build_undo_patch

COMMAND = handler.COMMAND_ANNOTATION


class Cluster:
    """One stored ModelDeployment and the Events posted about it."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.raw: dict[str, Any] = {
            "apiVersion": "llmops.dev/v1alpha1",
            "kind": "ModelDeployment",
            "metadata": {"name": "chat", "namespace": "ns", "generation": 1, "annotations": {}},
            "spec": spec,
        }
        self.events: list[tuple[str, str, str]] = []  # (type, reason, message)

    def post(self, _body: Any, *, type: str, reason: str, message: str) -> None:
        self.events.append((type, reason, message))

    def tick(self) -> list[str]:
        """One timer call; the reasons of the Events it posted."""
        before = len(self.events)
        patch = kopf.Patch()
        try:
            handler.reconcile_rollout(
                settings=OperatorSettings(serve_metrics=False),
                runner=None,  # type: ignore[arg-type]  # no load-test step in these specs
                body=kopf.Body(copy.deepcopy(self.raw)),
                namespace="ns",
                name="chat",
                patch=patch,
            )
        finally:
            self.raw["status"] = apply_merge_patch(self.raw.get("status"), patch.get("status"))
        return [reason for _, reason, _ in self.events[before:]]

    def edit(self, spec_patch: dict[str, Any], command: str | None = None) -> None:
        """A user's merge patch of the spec (a new generation), with a command if given."""
        self.raw["spec"] = apply_merge_patch(self.raw["spec"], spec_patch)
        self.raw["metadata"]["generation"] += 1
        if command is not None:
            self.command(command)

    def command(self, value: str) -> None:
        self.raw["metadata"]["annotations"][COMMAND] = value

    @property
    def status(self) -> RolloutStatus:
        return RolloutStatus.from_raw(self.raw.get("status"))


def ready(_spec: Any, status: RolloutStatus, _ns: str, _name: str) -> Any:
    seen = RevisionObservation(exists=True, ready_replicas=1, replicas=1)
    stable = seen if status.stable_hash else None
    canary = seen if status.canary_hash else None
    return stable, canary, frozenset()


def write_status(_settings: Any, *, decision: Decision, patch: kopf.Patch, **_: Any) -> None:
    patch.status.update(decision.status.to_raw())  # what apply_decision ends with


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Cluster:
    found = Cluster(
        {
            "model": {"name": "chat", "revision": "1", "uri": "hf://org/chat"},
            "strategy": {
                "canary": {
                    "abortScaleDownDelaySeconds": 0,
                    "steps": [{"setWeight": 20}, {"pause": {}}],
                }
            },
        }
    )
    monkeypatch.setattr(kopf, "event", found.post)
    monkeypatch.setattr(handler, "reconcile_claims", lambda *_, **__: True)
    monkeypatch.setattr(handler, "observe_revisions", ready)
    monkeypatch.setattr(handler, "apply_decision", write_status)
    monkeypatch.setattr(handler, "record_release", lambda *_, **__: None)
    monkeypatch.setattr(handler, "record_manifest", lambda *_, **__: None)
    return found


def rolled_out_to_revision_2(cluster: Cluster) -> None:
    """Revision 1 stable, revision 2 at its indefinite pause (20 %)."""
    assert cluster.tick() == ["FirstRevision"]
    assert cluster.tick() == ["FirstRevisionReady"]
    cluster.edit({"model": {"revision": "2"}})
    assert cluster.tick() == ["NewRevision"]
    assert cluster.tick() == ["WeightSet"]
    assert cluster.tick() == ["PauseStep"]


def test_should_post_aborted_by_user_once_then_rolled_back(cluster: Cluster) -> None:
    rolled_out_to_revision_2(cluster)
    cluster.command("abort:1")
    # tick: the abort sends the weight back to 0 (RollingBack)
    assert cluster.tick() == ["AbortedByUser"]
    # tick: the candidate is scaled to 0 (RolledBack): its own Event, not the abort again
    assert cluster.tick() == ["RolledBack"]
    # ticks: nothing more happens, and the handled command is not handled again
    assert cluster.tick() == cluster.tick() == []
    assert Counter(reason for _, reason, _ in cluster.events)["AbortedByUser"] == 1
    assert cluster.status.conditions[0].reason == "AbortedByUser"  # the cause is kept
    assert cluster.events[-1] == (
        "Warning",
        "RolledBack",
        "revision 2 scaled to 0 after AbortedByUser; stable serves",
    )


def test_should_post_undone_by_user_for_the_undo_patch(cluster: Cluster) -> None:
    rolled_out_to_revision_2(cluster)
    cluster.command("promote-full:1")
    assert cluster.tick() == ["PromotedFull"]
    assert cluster.tick() == ["Promoted"]
    assert cluster.status.stable_revision == "2"
    # `kubectl llmops undo`: the older spec and the undo command in one patch
    undo = build_undo_patch(cluster.status, None, cluster.raw["spec"])
    cluster.edit(undo["spec"], command="undo:1")
    ModelDeploymentSpec.model_validate(cluster.raw["spec"])  # still a whole spec
    # tick: revision 1 is still warm (scale-down window): back at once, said in two Events
    assert cluster.tick() == ["UndoneByUser", "FastRollback"]
    assert cluster.status.stable_revision == "1"
    assert ("Normal", "UndoneByUser", "undo: spec set back to revision 1") in cluster.events
    cluster.tick()
    assert Counter(reason for _, reason, _ in cluster.events)["UndoneByUser"] == 1


def test_should_trace_a_tick_as_one_span_with_a_child_per_step(cluster: Cluster) -> None:
    exporter = InMemorySpanExporter()
    tracer = build_tracer(OperatorSettings(serve_metrics=False), exporter)
    with tracer.start_as_current_span(
        "reconcile rollout", attributes=deployment_attributes("ns", "chat")
    ):
        handler.reconcile_rollout(
            settings=OperatorSettings(serve_metrics=False),
            runner=None,  # type: ignore[arg-type]  # no load-test step in this spec
            body=kopf.Body(copy.deepcopy(cluster.raw)),
            namespace="ns",
            name="chat",
            patch=kopf.Patch(),
            tracer=tracer,
        )

    spans = {span.name: span for span in exporter.get_finished_spans()}
    tick = spans.pop("reconcile rollout")
    assert set(spans) == {"resolve model", "observe", "apply decision"}
    assert all(
        s.parent is not None and s.parent.span_id == tick.context.span_id for s in spans.values()
    )
    assert dict(tick.attributes or {}) == {
        "k8s.namespace.name": "ns",
        "llmops.modeldeployment": "chat",
        "llmops.phase": "Pending",  # the first tick of a first revision
    }
    assert tick.resource.attributes["service.name"] == "llmops-operator"


def test_should_record_nothing_without_an_otlp_endpoint() -> None:
    tracer = build_tracer(OperatorSettings(serve_metrics=False))
    with tracer.start_as_current_span("reconcile rollout") as span:
        assert not span.is_recording()
