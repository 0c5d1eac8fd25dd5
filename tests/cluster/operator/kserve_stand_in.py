"""A stand-in for KServe's controller in the cluster tests: it writes an InferenceService's
status as KServe would, because no KServe controller runs in the test cluster.

It is never KServe. The tests that use it say so; what they check is what the operator writes
and when it moves on, given a status KServe could report (KServe v0.16: revisions named
``<isvc>-predictor-<n>``, ``status.components.predictor`` with latestCreatedRevision,
latestReadyRevision, latestRolledoutRevision and traffic, the ``PredictorReady`` condition).
"""

from __future__ import annotations

import json
from typing import Any

from tests.cluster.kube import Kube


def revision(isvc: str, number: int) -> str:
    """KServe's (Knative's) name of the predictor's ``number``-th revision."""
    return f"{isvc}-predictor-{number:05d}"


def write_kserve_status(
    kube: Kube,
    namespace: str,
    isvc: str,
    *,
    created: str,
    ready: str,
    rolled_out: str,
    percent: int = 100,
) -> None:
    """The status subresource as KServe reports it: ``percent`` of the traffic on the latest
    ready revision, the rest on the rolled-out one."""
    traffic: list[dict[str, Any]] = [
        {"revisionName": ready, "latestRevision": True, "percent": percent}
    ]
    if percent < 100 and rolled_out and rolled_out != ready:
        traffic.append(
            {"revisionName": rolled_out, "latestRevision": False, "percent": 100 - percent}
        )
    condition = {
        "type": "PredictorReady",
        "status": "True" if ready == created else "False",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    status = {
        "deploymentMode": "Serverless",
        "components": {
            "predictor": {
                "latestCreatedRevision": created,
                "latestReadyRevision": ready,
                "latestRolledoutRevision": rolled_out,
                "traffic": traffic,
            }
        },
        "conditions": [condition],
    }
    kube.kubectl(
        "patch", "inferenceservice", isvc, "-n", namespace, "--subresource=status",
        "--type=merge", "-p", json.dumps({"status": status}),
    )  # fmt: skip
