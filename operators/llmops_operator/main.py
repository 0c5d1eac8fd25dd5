"""Entry point: registers the handlers and nothing else (``kopf run -m llmops_operator.main``;
in a pod, ``python -m llmops_operator`` starts exactly that with the flags from settings).

Handlers: start-up (settings, Kubernetes client, metrics endpoint, leader election), clean-up
(release the Lease), a liveness probe that reports leadership, and one timer per
ModelDeployment that advances its rollout every ``tick_interval_s``. With leader election
on, every replica runs these handlers but only the Lease holder's timers act (`leader`).
All progress is in ``.status``, so any number of restarts resume where the last tick left off.
"""

from __future__ import annotations

from typing import Any

import kopf
from prometheus_client import start_http_server

from llmops_operator.clients import kube
from llmops_operator.clients.loadtest import ProcessLoadTestRunner
from llmops_operator.handlers.reconcile_rollout import reconcile_rollout
from llmops_operator.leader import LeaderElector
from llmops_operator.settings import OperatorSettings

GROUP, VERSION, PLURAL = "llmops.dev", "v1alpha1", "modeldeployments"
SETTINGS = OperatorSettings()
RUNNER = ProcessLoadTestRunner(SETTINGS.report_dir)
ELECTOR = LeaderElector(SETTINGS) if SETTINGS.leader_election else None


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
    if SETTINGS.serve_metrics:
        start_http_server(SETTINGS.metrics_port)
    if ELECTOR is not None:
        ELECTOR.start()


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


@kopf.timer(GROUP, VERSION, PLURAL, interval=SETTINGS.tick_interval_s)
def tick_rollout(
    body: kopf.Body, namespace: str | None, name: str, patch: kopf.Patch, **_: Any
) -> None:
    if ELECTOR is not None and not ELECTOR.is_leader:
        return  # a standby watches but never acts: the Lease holder owns every rollout
    assert namespace is not None  # ModelDeployment is namespaced
    reconcile_rollout(
        settings=SETTINGS, runner=RUNNER, body=body, namespace=namespace, name=name, patch=patch
    )
