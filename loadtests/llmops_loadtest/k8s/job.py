"""Pure manifest builders for an in-cluster load test (no I/O, no Kubernetes client).

`build_loadtest_job` returns everything to apply, in order: the input ConfigMap (profile and
gate), the verdict ConfigMap ``<name>-verdict`` (``pending``), a ServiceAccount with a Role
that may read and update that one ConfigMap and nothing else, and the Job. The verdict
ConfigMap is created up front because RBAC cannot scope ``create`` to a name: the Job only
ever updates it. The Job runs ``llmops-loadtest run`` (or, for a rollout's evaluation step,
``llmops-loadtest eval gate``: the same files, flags and verdict) against a Service URL; when it
ends,
the verdict ConfigMap holds the verdict for the operator:

- ``data.passed``: ``"pending"`` (not finished), then ``"true"``, ``"false"`` or ``"error"``
  (the run could not happen);
- ``data.headline``: one line (``PASS (3/3 SLOs met)``, ``FAIL: ttft_p95_s <= 0.5 (...)``);
- ``data["verdict.json"]``: report.json's ``verdict`` section, plus versions under test.

The Job's own status agrees: exit code 0 completes it, 1 (gate failed) or 2 fails it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmops_loadtest.k8s.security import (
    build_restricted_container_security_context,
    build_restricted_pod_security_context,
)

Manifest = dict[str, Any]
INPUT_MOUNT = "/etc/llmops-loadtest"
REPORT_MOUNT = "/report"
_RUN_MARGIN_S = 300  # Locust start, report rendering, the last requests in flight


@dataclass(frozen=True)
class LoadtestJobSpec:
    """What to run where. ``target_url`` is usually a Service: ``http://svc.ns:8000``."""

    name: str
    namespace: str
    image: str
    target_url: str
    profile_yaml: str
    gate_yaml: str
    duration_s: float
    workers: int = 1
    labels: dict[str, str] = field(default_factory=dict)
    # More `llmops-loadtest run` flags, e.g. ("--mlflow-uri", URI, "--mlflow-model", "m/3").
    extra_args: tuple[str, ...] = ()
    # The subcommand: ("run",) a load test, ("eval", "gate") a rollout's evaluation step
    # (same inputs, verdict and flags; `--workers` is the load test's only).
    command: tuple[str, ...] = ("run",)
    # Where the pod may run (the nodes that reach the target).
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def verdict_configmap(self) -> str:
        return f"{self.name}-verdict"


def _labels(spec: LoadtestJobSpec) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "llmops-loadtest",
        "app.kubernetes.io/instance": spec.name,
        "app.kubernetes.io/component": "loadtest",
        "app.kubernetes.io/managed-by": "llmops",
        **spec.labels,
    }


def _meta(spec: LoadtestJobSpec, name: str) -> dict[str, Any]:
    return {"name": name, "namespace": spec.namespace, "labels": _labels(spec)}


def build_loadtest_command(spec: LoadtestJobSpec) -> list[str]:
    workers = ("--workers", str(spec.workers)) if spec.command == ("run",) else ()
    return [
        "llmops-loadtest", *spec.command,
        "--target", spec.target_url,
        "--profile", f"{INPUT_MOUNT}/profile.yaml",
        "--gate", f"{INPUT_MOUNT}/gate.yaml",
        "--out", REPORT_MOUNT,
        *workers,
        "--verdict-configmap", spec.verdict_configmap,
        *spec.extra_args,
    ]  # fmt: skip


def build_rbac(spec: LoadtestJobSpec) -> list[Manifest]:
    """May read and update the verdict ConfigMap; nothing else (not even create)."""
    rules = [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": [spec.verdict_configmap],
            "verbs": ["get", "update", "patch"],
        },
    ]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(spec, spec.name),
         "automountServiceAccountToken": True},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": _meta(spec, spec.name), "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": _meta(spec, spec.name),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": spec.name},
         "subjects": [{"kind": "ServiceAccount", "name": spec.name,
                       "namespace": spec.namespace}]},
    ]  # fmt: skip


def build_job(spec: LoadtestJobSpec) -> Manifest:
    """The Job: one attempt, a deadline, Pod Security "restricted", inputs read-only."""
    container = {
        "name": "loadtest",
        "image": spec.image,
        "command": build_loadtest_command(spec),
        "volumeMounts": [
            {"name": "input", "mountPath": INPUT_MOUNT, "readOnly": True},
            {"name": "report", "mountPath": REPORT_MOUNT},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 -- an emptyDir, not the host's
        ],
        "securityContext": build_restricted_container_security_context(),
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    pod_spec: dict[str, Any] = {
        "serviceAccountName": spec.name,
        "restartPolicy": "Never",
        "securityContext": build_restricted_pod_security_context(65532),
        "containers": [container],
        "volumes": [
            {"name": "input", "configMap": {"name": f"{spec.name}-input"}},
            {"name": "report", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    if spec.node_selector:
        pod_spec["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        pod_spec["tolerations"] = list(spec.tolerations)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(spec, spec.name),
        "spec": {
            "backoffLimit": 0,  # a gate is judged once: a retry would hide a failure
            "activeDeadlineSeconds": int(spec.duration_s) + _RUN_MARGIN_S,
            "ttlSecondsAfterFinished": 86400,
            "template": {"metadata": {"labels": _labels(spec)}, "spec": pod_spec},
        },
    }


def build_pending_verdict(spec: LoadtestJobSpec) -> Manifest:
    """The verdict ConfigMap before the Job has judged anything."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(spec, spec.verdict_configmap),
        "data": {"passed": "pending", "headline": "the load test has not finished"},
    }


def build_loadtest_job(spec: LoadtestJobSpec) -> list[Manifest]:
    """Everything to apply, in order (see the module docstring for the verdict contract)."""
    inputs = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(spec, f"{spec.name}-input"),
        "data": {"profile.yaml": spec.profile_yaml, "gate.yaml": spec.gate_yaml},
    }
    return [inputs, build_pending_verdict(spec), *build_rbac(spec), build_job(spec)]
