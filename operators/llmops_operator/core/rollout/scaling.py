"""How rollouts coexist with autoscalers: the operator never fights an HPA or a ScaledObject.

The rule (also in docs/rollouts.md):

1. **One writer per ``spec.replicas``.** When ``spec.engine.autoscaling`` is set, every revision
   Deployment gets its own autoscaler (an HPA, or a KEDA ScaledObject) named after it, and the
   operator writes ``replicas`` only when it *creates* the Deployment (the autoscaler's floor);
   afterwards replicas belong to the autoscaler (one exception: an HPA never lifts a
   Deployment from 0, so a revision of ours at 0, e.g. on `retry` after a rollback, gets its
   floor written once). The same holds for a Deployment some *other*
   HPA or ScaledObject targets (`Observations.autoscaled`): the operator leaves its replicas
   alone, whatever the strategy asks.
2. **The operator moves bounds, not replicas.** A rollout changes each revision's
   ``minReplicas``/``maxReplicas`` (``m``/``M`` from ``autoscaling``), and the autoscaler picks
   the replica count inside them from the revision's own queue depth
   (``vllm:num_requests_waiting``; GPU-bound engines show load as waiting requests, not CPU):

   ==========================  ============================================  ===========
   revision                    minReplicas                                   maxReplicas
   ==========================  ============================================  ===========
   stable                      ``m`` (``dynamicStableScale``: ``m`` x its    ``M``
                               traffic share, at least 1)
   canary at weight ``w``      ``m`` x ``w``%, at least 1, at most           ``M`` x ``w``%
                               ``maxSurge``                                  (>= min)
   canary Promoting, preview   the stable's *current* replicas (read from    ``M``
                               its Deployment), within ``[m, M]``
   old stable (scale-down      ``m``                                         ``M``
   window, instant undo)
   rejected canary             no autoscaler; scaled to 0 by the operator
   ==========================  ============================================  ===========

   The LLM-aware parts: a candidate about to take all traffic is first scaled to what the
   stable needs *right now* under load (a model load takes minutes, so the autoscaler could
   not catch up after the switch), and the stable's floor does not shrink by default, so a
   rollback lands on warm replicas.
3. **Readiness uses the floor.** A step waits until the candidate has ``minReplicas`` Ready.

Everything here is pure; `advance.desired_workloads` applies it and the shell builds the
autoscaler manifests (`core.manifests.autoscalers`).
"""

from __future__ import annotations

from dataclasses import dataclass

from llmops_operator.core.spec.schema import AutoscalingSpec, CanaryStrategy, ModelDeploymentSpec


@dataclass(frozen=True)
class AutoscalerBounds:
    """minReplicas/maxReplicas of one revision's autoscaler."""

    min_replicas: int
    max_replicas: int


def _share(replicas: int, percent: int) -> int:
    return -(-replicas * percent // 100)  # ceiling: a share of a replica is a replica


def canary_replicas(strategy: CanaryStrategy, replicas: int, weight: int) -> int:
    """Replicas of a canary sharing traffic (no autoscaler): proportional to its weight, at
    least one, at most ``maxSurge`` (extra GPUs are scarce; the stable keeps its full size)."""
    return min(strategy.max_surge, max(1, _share(replicas, weight)), max(1, replicas))


def full_replicas(spec: ModelDeploymentSpec) -> int:
    """The size of a revision serving all traffic: the autoscaler's floor, else engine.replicas."""
    autoscaling = spec.engine.autoscaling
    return autoscaling.min_replicas if autoscaling is not None else spec.engine.replicas


def stable_bounds(autoscaling: AutoscalingSpec, canary_weight: int) -> AutoscalerBounds:
    """The stable keeps its floor unless dynamicStableScale; its ceiling always stays ``M``
    (a rollback sends it all traffic at once)."""
    low = autoscaling.min_replicas
    if autoscaling.dynamic_stable_scale:
        low = max(1, _share(low, 100 - canary_weight))
    return AutoscalerBounds(low, autoscaling.max_replicas)


def canary_bounds(autoscaling: AutoscalingSpec, weight: int, max_surge: int) -> AutoscalerBounds:
    """Bounds proportional to the canary's weight; ``maxSurge`` caps the replicas it is
    guaranteed (extra GPUs are scarce), its queue depth may take it up to its share of ``M``."""
    low = min(max_surge, max(1, _share(autoscaling.min_replicas, weight)))
    return AutoscalerBounds(low, max(low, _share(autoscaling.max_replicas, weight)))


def switch_bounds(autoscaling: AutoscalingSpec, stable_replicas: int) -> AutoscalerBounds:
    """A candidate about to take all traffic: at least what the stable runs now."""
    low = min(autoscaling.max_replicas, max(autoscaling.min_replicas, stable_replicas))
    return AutoscalerBounds(low, autoscaling.max_replicas)


def full_bounds(autoscaling: AutoscalingSpec) -> AutoscalerBounds:
    return AutoscalerBounds(autoscaling.min_replicas, autoscaling.max_replicas)


def candidate_size(
    spec: ModelDeploymentSpec, *, weight: int, full_size: bool, stable_replicas: int
) -> tuple[int, AutoscalerBounds | None]:
    """The candidate's floor (what readiness waits for) and its autoscaler's bounds, if any.

    ``full_size``: the candidate is about to take all traffic (first revision, Promoting, a
    blue-green preview); otherwise it is a canary sharing ``weight`` percent.
    """
    autoscaling = spec.engine.autoscaling
    if full_size:
        if autoscaling is None:
            return spec.engine.replicas, None
        bounds = switch_bounds(autoscaling, stable_replicas)
        return bounds.min_replicas, bounds
    canary = spec.strategy.canary
    assert canary is not None  # only a canary shares traffic
    if autoscaling is None:
        return canary_replicas(canary, spec.engine.replicas, weight), None
    bounds = canary_bounds(autoscaling, weight, canary.max_surge)
    return bounds.min_replicas, bounds
