"""The claims side of a reconcile tick: may this ModelDeployment write its traffic target?

Runs after the spec is parsed and before anything is observed or written: one list of the
namespace's ModelDeployments, the decision in `core.rollout.claims`, then the status patch and the
Event. A loser's tick ends there, so it writes no traffic and leaves its workloads alone.
"""

from __future__ import annotations

import logging
from datetime import datetime

import kopf

from llmops_operator import metrics
from llmops_operator.clients import kube
from llmops_operator.core.rollout.claims import (
    Claimant,
    build_claimant,
    claimed_targets,
    clear_conflict,
    lost_claims,
    mark_conflict,
    parse_timestamp,
)
from llmops_operator.core.spec.schema import ModelDeploymentSpec
from llmops_operator.core.state.status import RolloutStatus

log = logging.getLogger(__name__)


def reconcile_claims(
    body: kopf.Body,
    *,
    spec: ModelDeploymentSpec,
    status: RolloutStatus,
    namespace: str,
    name: str,
    generation: int,
    now: datetime,
    patch: kopf.Patch,
) -> bool:
    """True when this ModelDeployment owns every target it claims (the tick goes on).

    False: another, older ModelDeployment owns one; ``status`` and ``patch`` say so and a
    Warning Event is posted the first time. On the first tick after a conflict, ``status``
    gets ``SpecValid=True`` back (in place) and a Normal Event is posted.
    """
    me = Claimant(
        namespace=namespace,
        name=name,
        created=parse_timestamp(body.metadata.get("creationTimestamp")),
        targets=claimed_targets(spec),
    )
    others = [build_claimant(item) for item in kube.list_model_deployments(namespace)]
    lost = lost_claims(me, others)
    if lost:
        event = mark_conflict(status, lost, now=now, generation=generation)
    else:
        event = clear_conflict(status, me.targets, now=now, generation=generation)
    if lost or event is not None:
        patch.status.update(status.to_raw())
    if event is not None:
        log.info("%s/%s claims %s: %s", namespace, name, event.reason, event.message)
        kopf.event(
            body,
            type="Warning" if event.warning else "Normal",
            reason=event.reason,
            message=event.message,
        )
        phase = status.phase.value if status.phase else ""
        metrics.TRANSITIONS.labels(namespace, name, phase, event.reason).inc()
    return not lost
