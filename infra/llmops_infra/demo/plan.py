"""What the demo applies, writes and reads, as pure functions over plain data (no I/O):
the gateway's routing table, the example's manifest, the revision patch, and the one-line
view of a rollout and how it ended, read from the ModelDeployment as JSON."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from llmops_contracts.routing import (
    Backend,
    Revision,
    Route,
    RoutingTable,
    dump_routing_table,
)
from llmops_operator.core.spec.schema import SpecError, parse_spec
from llmops_operator.views.status_text import describe_step

EXAMPLE = Path("examples/rollouts/canary-load-tested.yaml")  # relative to the checkout
NAME = "chat"  # the example's ModelDeployment and its gateway alias
DEFAULT_NAMESPACE = "llmops-demo"
# Marks the namespaces the demo made: only those does it ever delete.
MANAGED_BY_LABEL, MANAGED_BY = "app.kubernetes.io/managed-by", "llmops-demo"
STRICT_SLO = "ttft_p95_s <= 0.001"  # no CPU answers within a millisecond: the gate must fail


class Outcome(StrEnum):
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled back"
    FAILED = "failed"


def build_routing_table(alias: str, url: str, model: str) -> str:
    """The gateway's table: ``alias`` with a stable and a canary backend, both the local vLLM.

    The load-test gate pins the canary (``x-llmops-revision: canary``), so the gate's load
    goes to the canary backend whatever the weights."""
    weights: tuple[tuple[Revision, int], ...] = (("stable", 100), ("canary", 0))
    # a base model: chat is rendered as a completion prompt
    backends = tuple(
        Backend(name=role, url=url, model=model, weight=weight, revision=role, chat="completion")
        for role, weight in weights
    )
    header = (
        "# Written by `llmops demo`. kwok runs no containers, so the revisions' pods serve\n"
        "# nothing: both revisions' traffic goes to the local vLLM on the CPU instead.\n"
    )
    table = RoutingTable(version="1", routes={alias: Route(backends=backends)})
    return header + yaml.safe_dump(dump_routing_table(table), sort_keys=False)


def build_demo_manifest(example: str, *, fail_gate: bool) -> dict[str, Any]:
    """The example as shipped; with ``fail_gate`` its load-test SLOs are ``STRICT_SLO``."""
    doc: dict[str, Any] = yaml.safe_load(example)
    if fail_gate:
        gates = [
            s["loadTest"] for s in doc["spec"]["strategy"]["canary"]["steps"] if "loadTest" in s
        ]
        if not gates:
            raise ValueError("the example has no loadTest step")
        for gate in gates:
            gate["slos"] = [STRICT_SLO]
    return doc


def build_revision_patch(revision: str) -> str:
    return json.dumps({"spec": {"model": {"revision": revision}}}, separators=(",", ":"))


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


def report_path(url: str) -> Path | None:
    """The local file a ``file://`` report link names (None for any other link)."""
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"
