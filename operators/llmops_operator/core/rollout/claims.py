"""Claims: which ModelDeployment owns a traffic target (pure, no I/O).

Each ModelDeployment writes one traffic target, the one its router names: ``routes.<alias>``
of the namespace's gateway routing table, the HTTPRoute ``route.httpRoute`` or the
InferenceService ``route.inferenceService``. Two that name the same target would overwrite
each other on every tick, so every target has exactly one owner: the oldest claimant by
``creationTimestamp``, ties broken by name. A ModelDeployment being deleted, or whose spec
does not parse (it writes no traffic), claims nothing.

A loser is frozen: it writes no traffic, its workloads and rollout progress stay as they
are, and its status says who owns the target (`mark_conflict`). When the owner goes away or
moves to another target, the loser takes over on its next tick (`clear_conflict`) and the
state machine resumes from the stored status.

Giving a target back (`released_targets`): a deleted ModelDeployment, or one whose gateway
alias or HTTPRoute changed (`stale_targets`), removes what it wrote there, but only where no
other live ModelDeployment claims the target; one that does takes it over on its next tick
and rewrites it, so it is left to that one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from llmops_operator.core.rollout.interface import Transition
from llmops_operator.core.spec.schema import ModelDeploymentSpec, SpecError, parse_spec
from llmops_operator.core.state.phases import (
    KEPT_PHASES,
    ConditionType,
    Phase,
    set_condition,
    spec_valid,
)
from llmops_operator.core.state.status import RolloutStatus

ALIAS_CONFLICT = "AliasConflict"  # condition reason and Warning Event of a lost claim
ALIAS_CLAIMED = "AliasClaimed"  # Normal Event: a former loser now owns its target
NEVER = datetime.max.replace(tzinfo=UTC)  # no creationTimestamp: loses every tie
# Target.field of each router's target: the spec field that names it.
ALIAS_FIELD = "spec.route.alias"
HTTP_ROUTE_FIELD = "spec.route.httpRoute"
INFERENCE_SERVICE_FIELD = "spec.route.inferenceService"


@dataclass(frozen=True, order=True)
class Target:
    """A traffic target, named by the spec field that points at it."""

    field: str  # ALIAS_FIELD | HTTP_ROUTE_FIELD | INFERENCE_SERVICE_FIELD
    name: str

    def __str__(self) -> str:
        return f"{self.field} {self.name!r}"


@dataclass(frozen=True)
class Claimant:
    """A ModelDeployment as far as claims go."""

    namespace: str
    name: str
    created: datetime
    targets: frozenset[Target]
    deleting: bool = False


@dataclass(frozen=True)
class LostClaim:
    target: Target
    owner: str  # the ModelDeployment that owns the target


def claimed_targets(spec: ModelDeploymentSpec) -> frozenset[Target]:
    """The target the spec's router writes (`routers.router_for` picks the same one)."""
    route = spec.route
    if route.router == "httpRoute":
        return frozenset({Target(HTTP_ROUTE_FIELD, route.http_route or "")})
    if route.router == "kserve":
        return frozenset({Target(INFERENCE_SERVICE_FIELD, route.inference_service or "")})
    return frozenset({Target(ALIAS_FIELD, spec.alias)})


def routed_alias_of(spec: ModelDeploymentSpec) -> str | None:
    """The alias whose table entry this spec writes (None: another router carries traffic)."""
    return spec.alias if spec.route.router == "gateway" else None


def routed_http_route_of(spec: ModelDeploymentSpec) -> str | None:
    """The HTTPRoute whose backendRefs this spec writes (None: another router carries it)."""
    return spec.route.http_route if spec.route.router == "httpRoute" else None


def stale_targets(spec: ModelDeploymentSpec, status: RolloutStatus) -> list[Target]:
    """``status.routedAlias`` and ``status.routedHttpRoute`` where the spec no longer routes
    through them (name or router changed): what this ModelDeployment wrote there is its to
    remove. Alias first."""
    stale = []
    if status.routed_alias not in {None, routed_alias_of(spec)}:
        stale.append(Target(ALIAS_FIELD, status.routed_alias or ""))
    if status.routed_http_route not in {None, routed_http_route_of(spec)}:
        stale.append(Target(HTTP_ROUTE_FIELD, status.routed_http_route or ""))
    return stale


def release_reason(target: Target, spec: ModelDeploymentSpec) -> tuple[str, str]:
    """The Normal Event (reason, message) of a stale target given back after a spec change."""
    if target.field == ALIAS_FIELD:
        now = routed_alias_of(spec)
        why = f"spec.route.alias is now {now!r}" if now else ""
        reason, done = "AliasReleased", f"routes.{target.name} removed from the routing table"
    else:
        now = routed_http_route_of(spec)
        why = f"spec.route.httpRoute is now {now!r}" if now else ""
        reason = "HTTPRouteReleased"
        done = f"this ModelDeployment's backendRefs removed from HTTPRoute {target.name!r}"
    return reason, f"{done}: {why or f'traffic goes through route.router {spec.route.router} now'}"


def written_targets(spec: ModelDeploymentSpec | None, status: RolloutStatus) -> frozenset[Target]:
    """Every target a ModelDeployment may have written: its spec's (None: the spec does not
    parse), the alias its table entry and the HTTPRoute its refs were last written for."""
    targets = claimed_targets(spec) if spec is not None else frozenset()
    if status.routed_alias is not None:
        targets |= {Target(ALIAS_FIELD, status.routed_alias)}
    if status.routed_http_route is not None:
        targets |= {Target(HTTP_ROUTE_FIELD, status.routed_http_route)}
    return targets


def parse_timestamp(value: Any) -> datetime:
    """A Kubernetes timestamp (``2026-01-01T00:00:00Z``); missing or malformed: `NEVER`."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return NEVER
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def build_claimant(obj: Mapping[str, Any]) -> Claimant:
    """A listed ModelDeployment (plain JSON) as a claimant; an unparsable spec claims nothing."""
    metadata = obj.get("metadata") or {}
    try:
        targets = claimed_targets(parse_spec(dict(obj.get("spec") or {})))
    except SpecError:
        targets = frozenset()
    return Claimant(
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or ""),
        created=parse_timestamp(metadata.get("creationTimestamp")),
        targets=targets,
        deleting=metadata.get("deletionTimestamp") is not None,
    )


def owner_of(target: Target, claimants: Iterable[Claimant]) -> Claimant | None:
    """The oldest live claimant of ``target`` (ties: the smaller name), if any."""
    live = [c for c in claimants if target in c.targets and not c.deleting]
    return min(live, key=lambda c: (c.created, c.name), default=None)


def lost_claims(me: Claimant, others: Iterable[Claimant]) -> tuple[LostClaim, ...]:
    """Every target of ``me`` that another ModelDeployment of its namespace owns.

    ``others`` may include ``me`` (a namespace listing does); other namespaces are ignored.
    """
    rivals = [c for c in others if c.namespace == me.namespace and c.name != me.name]
    lost: list[LostClaim] = []
    for target in sorted(me.targets):
        owner = owner_of(target, [me, *rivals])
        if owner is not None and owner.name != me.name:
            lost.append(LostClaim(target, owner.name))
    return tuple(lost)


def released_targets(
    targets: Iterable[Target], *, namespace: str, name: str, others: Iterable[Claimant]
) -> frozenset[Target]:
    """The ``targets`` ModelDeployment ``name`` gives back: those no other live ModelDeployment
    of its namespace claims (``others`` may include itself, as a namespace listing does).

    One that claims a target either owns it already (``name`` lost the claim and never wrote
    it) or takes it over on its next tick and rewrites it: either way the target is its.
    """
    rivals = [c for c in others if c.namespace == namespace and c.name != name and not c.deleting]
    return frozenset(t for t in targets if not any(t in c.targets for c in rivals))


def build_conflict_message(lost: Iterable[LostClaim]) -> str:
    """One readable sentence per lost target: who owns it and the two ways out."""
    return "; ".join(
        f"{claim.target} is owned by ModelDeployment {claim.owner!r} (created earlier): "
        f"no traffic is written until you change {claim.target.field} or delete {claim.owner}"
        for claim in lost
    )


def is_in_conflict(status: RolloutStatus) -> bool:
    return any(
        c.type == ConditionType.SPEC_VALID and c.reason == ALIAS_CONFLICT for c in status.conditions
    )


def mark_conflict(
    status: RolloutStatus, lost: Iterable[LostClaim], *, now: datetime, generation: int
) -> Transition | None:
    """Record lost claims in ``status`` (in place); a Warning Event only when new.

    ``SpecValid=False/AliasConflict`` is the marker `clear_conflict` looks for. Unless the
    phase is in `phases.KEPT_PHASES`, the phase becomes Paused (a person must act) with the same
    message, ``Progressing=False`` and ``Paused=True``; the machine rewrites all three on its
    first tick after the conflict. Rollout timers, steps and history are left untouched.
    """
    message = build_conflict_message(lost)
    previous = next((c for c in status.conditions if c.type == ConditionType.SPEC_VALID), None)
    is_new = previous is None or previous.reason != ALIAS_CONFLICT or previous.message != message
    status.observed_generation = generation
    conditions = set_condition(
        status.conditions,
        ConditionType.SPEC_VALID,
        False,
        reason=ALIAS_CONFLICT,
        message=message,
        now=now,
        generation=generation,
    )
    if status.phase not in KEPT_PHASES:
        status.phase, status.message = Phase.PAUSED, message
        for kind, value in ((ConditionType.PROGRESSING, False), (ConditionType.PAUSED, True)):
            conditions = set_condition(
                conditions,
                kind,
                value,
                reason=ALIAS_CONFLICT,
                message=message,
                now=now,
                generation=generation,
            )
    status.conditions = conditions
    return Transition(ALIAS_CONFLICT, message, warning=True) if is_new else None


def clear_conflict(
    status: RolloutStatus, targets: Iterable[Target], *, now: datetime, generation: int
) -> Transition | None:
    """After a conflict: ``SpecValid=True`` again (in place) and one Normal Event; else None."""
    if not is_in_conflict(status):
        return None
    status.conditions = spec_valid(status.conditions, now=now, generation=generation)
    owned = ", ".join(str(t) for t in sorted(targets))
    return Transition(ALIAS_CLAIMED, f"{owned} is free: this ModelDeployment now owns it")
