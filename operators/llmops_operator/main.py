"""Entry point: registers the handlers and nothing else (``kopf run -m llmops_operator.main``).

Handlers: start-up (settings, Kubernetes client, metrics endpoint) and one timer per
ModelDeployment that advances its rollout every ``tick_interval_s``. All progress is in
``.status``, so any number of restarts resume where the last tick left off.
"""

from __future__ import annotations

from typing import Any

import kopf
from prometheus_client import start_http_server

from llmops_operator.clients import kube
from llmops_operator.clients.loadtest import ProcessLoadTestRunner
from llmops_operator.handlers.reconcile_rollout import reconcile_rollout
from llmops_operator.settings import OperatorSettings

GROUP, VERSION, PLURAL = "llmops.dev", "v1alpha1", "modeldeployments"
SETTINGS = OperatorSettings()
RUNNER = ProcessLoadTestRunner(SETTINGS.loadtest_command, SETTINGS.report_dir)


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    kube.load_config()
    # Progress lives in our own status fields; kopf keeps its bookkeeping in annotations.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="llmops.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="llmops.dev")
    settings.posting.level = 20  # INFO: transitions become Kubernetes Events
    if SETTINGS.serve_metrics:
        start_http_server(SETTINGS.metrics_port)


@kopf.timer(GROUP, VERSION, PLURAL, interval=SETTINGS.tick_interval_s)
def tick_rollout(
    body: kopf.Body, namespace: str | None, name: str, patch: kopf.Patch, **_: Any
) -> None:
    assert namespace is not None  # ModelDeployment is namespaced
    reconcile_rollout(
        settings=SETTINGS, runner=RUNNER, body=body, namespace=namespace, name=name, patch=patch
    )
