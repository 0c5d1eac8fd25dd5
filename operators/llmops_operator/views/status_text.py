"""Readable views of a rollout for people (`kubectl llmops status/history`), pure.

The timeline (`kubectl llmops timeline`, and the end of `status`) is `core.state.timeline`."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from pydantic.alias_generators import to_camel

from llmops_operator.core.manifests.autoscalers import HPA_API, SCALED_OBJECT_API, bounds_of
from llmops_operator.core.manifests.workloads import LABEL_HASH
from llmops_operator.core.rollout.bluegreen import STEPS as BLUE_GREEN_STEPS
from llmops_operator.core.rollout.scaling import AutoscalerBounds
from llmops_operator.core.spec.schema import CanaryStep, EvaluationSpec, ModelDeploymentSpec
from llmops_operator.core.state.phases import Phase
from llmops_operator.core.state.status import HistoryEntry, RolloutStatus
from llmops_operator.core.state.timeline import (
    reached_step,
    status_section,
    step_label,
    step_number,
)

HPA_KIND, SCALED_OBJECT_KIND = HPA_API[1], SCALED_OBJECT_API[1]
SHORT_KIND = {HPA_KIND: "HPA", SCALED_OBJECT_KIND: "ScaledObject"}


@dataclass(frozen=True)
class AutoscalerView:
    """One revision's autoscaler as it is in the cluster (not as the status plans it)."""

    revision_hash: str
    kind: str  # "HorizontalPodAutoscaler" | "ScaledObject"
    bounds: AutoscalerBounds
    # From the HPA's status (a ScaledObject's: the HPA KEDA runs for it); None until the HPA
    # controller has looked at it.
    current_replicas: int | None = None
    desired_replicas: int | None = None


@dataclass(frozen=True)
class AutoscalersSeen:
    """What the plugin found: the views, or why it could not read them."""

    views: tuple[AutoscalerView, ...] = ()
    problem: str = ""


def _scaled_object_of(hpa: dict[str, Any]) -> str | None:
    owners = (hpa.get("metadata") or {}).get("ownerReferences") or []
    return next((str(o["name"]) for o in owners if o.get("kind") == SCALED_OBJECT_KIND), None)


def _replicas(hpa: dict[str, Any] | None, field: str) -> int | None:
    value = ((hpa or {}).get("status") or {}).get(field)
    return int(value) if value is not None else None


def build_autoscaler_views(
    hpas: list[dict[str, Any]], scaled_objects: list[dict[str, Any]]
) -> tuple[AutoscalerView, ...]:
    """One view per revision autoscaler, from the HPAs and ScaledObjects (as JSON) labelled
    with one ModelDeployment.

    KEDA scales through an HPA it owns and labels like its ScaledObject: that HPA gives the
    ScaledObject's replicas and is not a row of its own. Objects without a revision hash are
    not the operator's and are left out.
    """
    keda_hpas = {owner: hpa for hpa in hpas if (owner := _scaled_object_of(hpa)) is not None}
    found: list[tuple[dict[str, Any], str, dict[str, Any] | None]] = [
        (hpa, HPA_KIND, hpa) for hpa in hpas if _scaled_object_of(hpa) is None
    ]
    found += [
        (so, SCALED_OBJECT_KIND, keda_hpas.get((so.get("metadata") or {}).get("name", "")))
        for so in scaled_objects
    ]
    views = []
    for body, kind, hpa in found:
        revision_hash = ((body.get("metadata") or {}).get("labels") or {}).get(LABEL_HASH)
        if not revision_hash:
            continue
        views.append(
            AutoscalerView(
                revision_hash=revision_hash,
                kind=kind,
                bounds=bounds_of({**body, "kind": kind}),  # listed items carry no kind
                current_replicas=_replicas(hpa, "currentReplicas"),
                desired_replicas=_replicas(hpa, "desiredReplicas"),
            )
        )
    return tuple(views)


def _role_of(status: RolloutStatus, revision_hash: str) -> tuple[int, str, str]:
    """(sort order, role, revision label) of a revision the status knows, else ``other``."""
    if revision_hash == status.stable_hash:
        return 0, "stable", status.stable_revision or "-"
    if revision_hash == status.canary_hash:
        return 1, "candidate", status.canary_revision or "-"
    known = next((e.revision for e in reversed(status.history) if e.hash == revision_hash), "-")
    if revision_hash == status.scale_down_hash:
        return 2, "previous", known  # kept scaled up for an instant undo
    return 3, "other", known


def autoscaler_lines(
    spec: ModelDeploymentSpec, status: RolloutStatus, seen: AutoscalersSeen | None
) -> list[str]:
    """Per revision: role, revision, autoscaler kind, min..max, current/desired replicas.

    Empty when the spec asks for no autoscaling.
    """
    autoscaling = spec.engine.autoscaling
    if autoscaling is None:
        return []
    header = (
        f"Autoscalers ({autoscaling.kind}, full size "
        f"{autoscaling.min_replicas}..{autoscaling.max_replicas}):"
    )
    if seen is None or seen.problem:
        return [header, f"  not readable: {seen.problem if seen else 'not read'}"]
    if not seen.views:
        return [header, "  none yet (one per revision, made by the operator)"]
    lines = [header]
    order = sorted(seen.views, key=lambda v: (_role_of(status, v.revision_hash), v.revision_hash))
    for view in order:
        _, role, revision = _role_of(status, view.revision_hash)
        current = "-" if view.current_replicas is None else str(view.current_replicas)
        desired = "-" if view.desired_replicas is None else str(view.desired_replicas)
        bounds = f"{view.bounds.min_replicas}..{view.bounds.max_replicas}"
        lines.append(
            f"  {role:<9} {revision} ({view.revision_hash})  {SHORT_KIND[view.kind]:<12}"
            f" min..max {bounds:<7} replicas {current} current / {desired} desired"
        )
    return lines


def describe_step(step: CanaryStep) -> str:
    if step.set_weight is not None:
        return f"setWeight {step.set_weight}%"
    if step.pause is not None:
        return f"pause {step.pause.duration}" if step.pause.duration else "pause (until promoted)"
    if step.analysis is not None:
        return f"analysis every {step.analysis.interval} x{step.analysis.count}"
    if step.evaluation is not None:
        return describe_evaluation(step.evaluation)
    assert step.load_test is not None
    gate = step.load_test
    return f"loadTest {gate.profile} {gate.users} users {gate.duration}: {', '.join(gate.slos)}"


def describe_evaluation(gate: EvaluationSpec) -> str:
    """``evaluation seed 7: rag rag-golden/golden.yaml (hitRateMin 0.8), fairness ...``."""

    def bounds(document: dict[str, float]) -> str:
        return ", ".join(f"{to_camel(key)} {value:g}" for key, value in document.items())

    parts = []
    if gate.rag is not None:
        where = f"{gate.rag.dataset_config_map}/{gate.rag.dataset_key}"
        parts.append(f"rag {where} ({bounds(gate.rag.thresholds.gate_document())})")
    if gate.fairness is not None:
        where = f"{gate.fairness.probes_config_map}/{gate.fairness.probes_key}"
        parts.append(f"fairness {where} ({bounds(gate.fairness.thresholds.gate_document())})")
    return f"evaluation seed {gate.seed}: " + ", ".join(parts)


def _step_mark(index: int, status: RolloutStatus, reached: int | None) -> str:
    """✔ done, ▶ current, ✘ where the candidate was rejected, ↷ skipped (`promote --full`),
    · to come (or not run: a first revision takes all traffic at once)."""
    current = status.current_step_index
    if status.canary_hash is not None and current is not None:
        if index < current:
            return "✔"
        if index > current:
            return "·"
        rejected = status.phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK)
        return "✘" if rejected else "▶"
    if status.phase is Phase.SUCCEEDED and reached is not None:
        # The candidate became the stable: steps up to the furthest one reached ran.
        return "✔" if index <= reached else "↷"
    return "·"


def step_lines(spec: ModelDeploymentSpec, status: RolloutStatus) -> list[str]:
    """One line per step, numbered from 1 as the operator's messages count them, marked as
    `_step_mark` says."""
    names = (
        [describe_step(step) for step in spec.strategy.canary.steps]
        if spec.strategy.canary
        else list(BLUE_GREEN_STEPS)
    )
    reached = reached_step(status)
    return [
        f"  {_step_mark(index, status, reached)} {step_number(index)}: {name}"
        for index, name in enumerate(names)
    ]


def status_text(
    name: str,
    spec: ModelDeploymentSpec,
    status: RolloutStatus,
    autoscalers: AutoscalersSeen | None = None,
) -> str:
    strategy = "canary" if spec.strategy.canary else "blueGreen"
    lines = [
        f"Name:      {name}",
        f"Strategy:  {strategy}",
        f"Phase:     {status.phase.value if status.phase else 'Unknown'}  {status.message}",
        f"Stable:    {status.stable_revision or '-'} ({status.stable_hash or '-'})",
        f"Candidate: {status.canary_revision or '-'} ({status.canary_hash or '-'})"
        f"  weight {status.canary_weight}%",
        "Steps:",
        *step_lines(spec, status),
    ]
    if status.analysis_runs:
        lines.append("Analysis (latest per metric):")
        latest: dict[tuple[int, str], Any] = {}
        for run in status.analysis_runs:
            latest[(run.step, run.metric)] = run
        for (step, metric), run in sorted(latest.items()):
            value = "-" if run.value is None else f"{run.value:.4g}"
            lines.append(
                f"  {step_label(step)} {metric}: {run.result.value} value={value} {run.message}"
            )
    if status.load_test is not None:
        lt = status.load_test
        lines.append(f"Load test: {lt.name} {lt.verdict.value}  {lt.message}".rstrip())
        if lt.report_url:
            lines.append(f"  report: {lt.report_url}")
    if status.evaluation is not None:
        ev = status.evaluation
        lines.append(f"Evaluation: {ev.name} {ev.verdict.value}  {ev.message}".rstrip())
        if ev.report_url:
            lines.append(f"  report: {ev.report_url}")
    lines += autoscaler_lines(spec, status, autoscalers)
    lines.append("Conditions:")
    lines += [f"  {c.type}={c.status} {c.reason}: {c.message}" for c in status.conditions]
    lines += status_section(status, name)
    return "\n".join(lines)


def history_text(status: RolloutStatus) -> str:
    rows = ["REVISION  HASH      RESULT      AT                    MESSAGE"]
    for entry in status.history:
        at = entry.at.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(entry.at, datetime) else ""
        rows.append(
            f"{entry.revision:<9} {entry.hash:<9} {entry.result:<11} {at:<21} {entry.message}"
        )
    return "\n".join(rows)


def merge_patch_to(current: Any, target: Any) -> Any:
    """The JSON merge patch (RFC 7386) that turns ``current`` into ``target``: maps are merged
    by a merge patch, so each key of ``current`` that ``target`` lacks is set to null."""
    if not isinstance(current, Mapping) or not isinstance(target, Mapping):
        return target
    patch = {key: None for key in current if key not in target}
    for key, value in target.items():
        patch[key] = merge_patch_to(current.get(key), value)
    return patch


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """``target`` after the JSON merge patch ``patch`` (RFC 7386): a null removes the key."""
    if not isinstance(patch, Mapping):
        return patch
    merged = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = apply_merge_patch(merged.get(key), value)
    return merged


def undo_target(status: RolloutStatus, to_revision: str | None) -> HistoryEntry:
    """The history entry `undo` goes back to: ``to_revision`` (a revision or a hash), else the
    latest promoted revision that is not the current stable one. LookupError: none."""
    candidates = [
        entry
        for entry in reversed(status.history)
        if entry.result == "Promoted" and entry.hash != status.stable_hash
    ]
    if to_revision is not None:
        candidates = [e for e in candidates if to_revision in (e.revision, e.hash)]
    if not candidates:
        raise LookupError("no earlier promoted revision to go back to (see `history`)")
    return candidates[0]


def _plain(value: Any) -> Any:
    """JSON as YAML shows it without noise: an integral float (``5.0``, a model's dump of the
    API server's ``5``) as an int."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def undo_diff_lines(current_spec: Mapping[str, Any], patch: Mapping[str, Any]) -> list[str]:
    """What `undo` changes in ``spec``, as a unified diff of its YAML (empty: nothing)."""
    after = apply_merge_patch(current_spec, patch.get("spec") or {})
    before_text = yaml.safe_dump(_plain(current_spec), sort_keys=False).splitlines()
    after_text = yaml.safe_dump(_plain(after), sort_keys=False).splitlines()
    return list(
        difflib.unified_diff(before_text, after_text, "spec (now)", "spec (undone)", lineterm="")
    )


def build_undo_patch(
    status: RolloutStatus, to_revision: str | None, current_spec: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A merge patch of ``spec`` back to a previous revision's template (`undo`; the revision
    is `undo_target`'s). Raises LookupError when there is none. ``current_spec`` (the spec
    being patched) lets ``spec.pod`` go back exactly: a node selector or resource added since
    is removed.
    """
    template = undo_target(status, to_revision).parsed_template()
    engine = template.engine.model_dump(mode="json", by_alias=True, exclude_none=True)
    engine.pop("replicas", None)  # replicas are not part of a revision
    route: dict[str, Any] = {"port": template.port, "chat": template.chat}
    route["rag"] = (
        template.rag.model_dump(mode="json", by_alias=True) if template.rag is not None else None
    )
    model = template.model.model_dump(mode="json", by_alias=True)
    pod = template.pod.model_dump(mode="json", by_alias=True, exclude_none=True)
    pod = merge_patch_to((current_spec or {}).get("pod") or {}, pod)
    return {"spec": {"model": model, "engine": engine, "pod": pod, "route": route}}
