"""Giving traffic targets back: when a ModelDeployment is deleted, and when its alias moves.

Without this, the gateway keeps routing a deleted ModelDeployment's alias (or its old alias)
to Services that are gone, and users get 5xx instead of "model not found". Which targets go
is `core.claims.released_targets` (none another live ModelDeployment claims: that one takes
the target over and rewrites it); what is removed there is `routers.release_target` (only
what this ModelDeployment wrote). This shell lists the namespace, writes and posts Events.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import kopf

from llmops_operator.clients import kube
from llmops_operator.core.builders import RoutingTableConflictError
from llmops_operator.core.claims import (
    Target,
    build_claimant,
    released_targets,
    routed_alias_of,
    stale_alias,
    written_targets,
)
from llmops_operator.core.decision import Transition
from llmops_operator.core.spec import ModelDeploymentSpec, SpecError, parse_spec
from llmops_operator.core.status import RolloutStatus
from llmops_operator.routers import release_target
from llmops_operator.settings import OperatorSettings

ALIAS_RELEASED = "AliasReleased"  # Normal Event: the old alias's entry left the table
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


def reconcile_routed_alias(
    settings: OperatorSettings,
    *,
    spec: ModelDeploymentSpec,
    status: RolloutStatus,
    namespace: str,
    name: str,
) -> Transition | None:
    """After this tick's traffic write: the entry of the alias the table was written for
    before (``status.routedAlias``) goes when the spec routes elsewhere now; then
    ``status.routedAlias`` (in place) names the alias written now.

    An entry another alias needs as its embedder stays, and so does ``routedAlias``: the
    next ticks try again, and a deletion releases both aliases.
    """
    stale = stale_alias(spec, status)
    event = None
    if stale is not None and _released({stale}, namespace, name):
        try:
            removed = release_target(stale, namespace, name, settings)
        except RoutingTableConflictError as err:
            log.info("%s/%s: %s", namespace, name, err)
            return None
        if removed:
            why = (
                f"spec.route.alias is now {spec.alias!r}"
                if routed_alias_of(spec)
                else f"traffic goes through route.router {spec.route.router} now"
            )
            message = f"routes.{stale.name} removed from the routing table: {why}"
            event = Transition(ALIAS_RELEASED, message)
    status.routed_alias = routed_alias_of(spec)
    return event


def _released(targets: Iterable[Target], namespace: str, name: str) -> set[Target]:
    """The ``targets`` no other live ModelDeployment of the namespace claims (one list)."""
    others = [build_claimant(item) for item in kube.list_model_deployments(namespace)]
    return set(released_targets(targets, namespace=namespace, name=name, others=others))
