"""Giving traffic targets back: when a ModelDeployment is deleted, and when its alias or
HTTPRoute moves.

Without this, the gateway keeps routing a deleted ModelDeployment's alias (or its old alias)
to Services that are gone, and users get 5xx instead of "model not found". Which targets go
is `core.rollout.claims.released_targets` (none another live ModelDeployment claims: that one takes
the target over and rewrites it); what is removed there is `routers.release_target` (only
what this ModelDeployment wrote). This shell lists the namespace, writes and posts Events.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import kopf

from llmops_operator.clients import kube
from llmops_operator.core.manifests.workloads import RoutingTableConflictError
from llmops_operator.core.rollout.claims import (
    Target,
    build_claimant,
    release_reason,
    released_targets,
    routed_alias_of,
    routed_http_route_of,
    stale_targets,
    written_targets,
)
from llmops_operator.core.rollout.interface import Transition
from llmops_operator.core.spec.schema import ModelDeploymentSpec, SpecError, parse_spec
from llmops_operator.core.state.status import RolloutStatus
from llmops_operator.routers import release_target
from llmops_operator.settings import OperatorSettings

ALIAS_KEPT = "AliasKept"  # Warning Event: another alias needs the entry as its embedder
log = logging.getLogger(__name__)


def release_traffic(
    settings: OperatorSettings, *, body: kopf.Body, namespace: str, name: str
) -> None:
    """On deletion: remove what this ModelDeployment wrote to every target it gives back.

    An unparsable spec wrote no traffic of its own; ``status.routedAlias`` still names the
    table entry it wrote before. An entry the gateway cannot lose (another alias's embedder)
    stays, with a Warning Event: the deletion must not hang on someone else's route.
    """
    status = RolloutStatus.from_raw(body.get("status"))
    try:
        spec: ModelDeploymentSpec | None = parse_spec(dict(body.spec))
    except SpecError:
        spec = None
    written = written_targets(spec, status)
    released = _released(written, namespace, name)
    for target in sorted(written - released):
        log.info(
            "%s/%s deleted: %s is left to the ModelDeployment claiming it", namespace, name, target
        )
    for target in sorted(released):
        try:
            removed = release_target(target, namespace, name, settings)
        except RoutingTableConflictError as err:
            log.warning("%s/%s deleted: %s", namespace, name, err)
            kopf.event(body, type="Warning", reason=ALIAS_KEPT, message=str(err))
            continue
        done = "released" if removed else "held nothing of this ModelDeployment's"
        log.info("%s/%s deleted: %s %s", namespace, name, target, done)


def reconcile_routed_targets(
    settings: OperatorSettings,
    *,
    spec: ModelDeploymentSpec,
    status: RolloutStatus,
    namespace: str,
    name: str,
) -> list[Transition]:
    """After this tick's traffic write: what was written before to the alias entry
    (``status.routedAlias``) or HTTPRoute (``status.routedHttpRoute``) the spec no longer
    routes through goes; then both status fields (in place) name what is written now.
    Normal Events ``AliasReleased`` and ``HTTPRouteReleased``.

    An entry another alias needs as its embedder stays, and so does ``routedAlias``: the
    next ticks try again, and a deletion releases both aliases.
    """
    stale = stale_targets(spec, status)
    released = _released(stale, namespace, name) if stale else set()
    events = []
    kept_alias = False
    for target in stale:
        if target not in released:
            continue  # another ModelDeployment claims it and rewrites it next tick
        try:
            removed = release_target(target, namespace, name, settings)
        except RoutingTableConflictError as err:
            log.info("%s/%s: %s", namespace, name, err)
            kept_alias = True
            continue
        if removed:
            events.append(Transition(*release_reason(target, spec)))
    if not kept_alias:
        status.routed_alias = routed_alias_of(spec)
    status.routed_http_route = routed_http_route_of(spec)
    return events


def _released(targets: Iterable[Target], namespace: str, name: str) -> set[Target]:
    """The ``targets`` no other live ModelDeployment of the namespace claims (one list)."""
    others = [build_claimant(item) for item in kube.list_model_deployments(namespace)]
    return set(released_targets(targets, namespace=namespace, name=name, others=others))
