"""Entry point: registers the handlers and nothing else (``kopf run -m llmops_operator.main``;
in a pod, ``python -m llmops_operator`` starts exactly that with the flags from settings).

Handlers: start-up (settings, Kubernetes client, metrics endpoint, leader election), clean-up
(release the Lease), a liveness probe that reports leadership, one timer per
ModelDeployment that advances its rollout every ``tick_interval_s``, and one deletion
handler that takes its traffic out of the router first (kopf's finalizer holds the object
until it succeeds). With leader election on, every replica runs these handlers but only the
Lease holder's act (`leader`). All progress is in ``.status``, so any number of restarts
resume where the last tick left off.
"""

from __future__ import annotations

from typing import Any

import kopf

from llmops_operator import metrics
from llmops_operator.clients import kube
from llmops_operator.clients.loadtest import LoadTestRunner, ProcessLoadTestRunner
from llmops_operator.clients.loadtest_job import JobLoadTestRunner, JobPlacement
from llmops_operator.handlers.reconcile_rollout import reconcile_rollout
from llmops_operator.handlers.release_traffic import release_traffic
from llmops_operator.leader import LeaderElector
from llmops_operator.locks import ObjectLocks
from llmops_operator.settings import OperatorSettings
from llmops_operator.tracing import build_tracer, deployment_attributes

GROUP, VERSION, PLURAL = "llmops.dev", "v1alpha1", "modeldeployments"
SETTINGS = OperatorSettings()
RUNNER: LoadTestRunner = (
    JobLoadTestRunner(
        JobPlacement(
            SETTINGS.loadtest_image,
            SETTINGS.loadtest_node_selector,
            SETTINGS.loadtest_tolerations,
        )
    )
    if SETTINGS.loadtest_runner == "job"
    else ProcessLoadTestRunner(SETTINGS.report_dir)
)
ELECTOR = LeaderElector(SETTINGS) if SETTINGS.leader_election else None
TRACER = build_tracer(SETTINGS)  # a no-op unless SETTINGS.otlp_endpoint is set
LOCKS = ObjectLocks()  # a deletion handler waits for the object's running tick
RETRY_S = 1.0  # a deletion handler that could not act yet tries again this soon
TICK_WAIT_S = 30.0  # longest wait for a running tick before that retry


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    kube.load_config()
    # Progress lives in our own status fields; kopf keeps its bookkeeping in annotations.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="llmops.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="llmops.dev")
    settings.posting.level = 20  # INFO: transitions become Kubernetes Events
    # No cluster scanning: watching CRDs and namespaces needs cluster-wide rights the chart's
    # namespaced RBAC does not grant (kopf would retry for a minute before every start). The
    # watched namespaces are named explicitly and the CRD is installed before the operator.
    settings.scanning.disabled = True
    # A deletion waits for the object's timer to stop. A tick still running (a thread kopf
    # cannot cancel) is re-checked every `cancellation_polling` seconds unless an event comes
    # first: kopf's default of 60 could hold the finalizer a minute after a tick that changed
    # nothing. 1 s costs one annotation touch per second, only while a deletion waits. Half a
    # second of "instant exit" lets a typical tick (a few API calls) end before the first
    # check; it delays only this object's event handling, never the operator's.
    settings.background.cancellation_polling = 1.0
    settings.background.instant_exit_timeout = 0.5
    if SETTINGS.serve_metrics:
        metrics.serve_metrics(SETTINGS)
    if ELECTOR is not None:
        ELECTOR.start()
    kube.warm_up()


@kopf.on.cleanup()
def release_lease(**_: Any) -> None:
    RUNNER.close()  # gate runs die with the operator; the next leader starts them again
    if ELECTOR is not None:
        ELECTOR.stop()


@kopf.on.probe(id="leader")
def report_leader(**_: Any) -> str:
    """Shown in /healthz: whether this replica acts (a standby is healthy too)."""
    if ELECTOR is None:
        return "leader election off"
    return "leader" if ELECTOR.is_leader else f"standby; leader: {ELECTOR.holder or 'none'}"


@kopf.timer(
    GROUP, VERSION, PLURAL, interval=SETTINGS.tick_interval_s, backoff=SETTINGS.error_backoff_s
)
def tick_rollout(
    body: kopf.Body, namespace: str | None, name: str, patch: kopf.Patch, **kwargs: Any
) -> None:
    if ELECTOR is not None and not ELECTOR.is_leader:
        return  # a standby watches but never acts: the Lease holder owns every rollout
    assert namespace is not None  # ModelDeployment is namespaced
    stopped: kopf.DaemonStopped = kwargs["stopped"]  # not in kopf's TimerFn protocol
    with LOCKS.of(f"{namespace}/{name}"):
        if stopped:
            return  # being deleted (or the operator exits): `release_on_delete` writes last
        with TRACER.start_as_current_span(
            "reconcile rollout", attributes=deployment_attributes(namespace, name)
        ):
            reconcile_rollout(
                settings=SETTINGS,
                runner=RUNNER,
                body=body,
                namespace=namespace,
                name=name,
                patch=patch,
                tracer=TRACER,
            )


@kopf.on.delete(GROUP, VERSION, PLURAL, backoff=RETRY_S)
def release_on_delete(body: kopf.Body, namespace: str | None, name: str, **_: Any) -> None:
    """Take the ModelDeployment's traffic out before kopf lets it go (its workloads are
    garbage-collected through their owner references)."""
    if ELECTOR is not None and not ELECTOR.is_leader:
        # Returning would let this replica's kopf remove the finalizer before the leader has
        # released the traffic; failing keeps it, and the retry acts if this one leads by then.
        raise kopf.TemporaryError("standby: the leader releases the traffic", delay=RETRY_S)
    assert namespace is not None
    key = f"{namespace}/{name}"
    lock = LOCKS.of(key)
    # kopf has stopped the timer, but a tick may still be running: it writes first.
    if not lock.acquire(timeout=TICK_WAIT_S):
        raise kopf.TemporaryError("a rollout tick is still running", delay=RETRY_S)
    try:
        with TRACER.start_as_current_span(
            "release traffic", attributes=deployment_attributes(namespace, name)
        ):
            release_traffic(SETTINGS, body=body, namespace=namespace, name=name)
    finally:
        lock.release()
    LOCKS.forget(key)
