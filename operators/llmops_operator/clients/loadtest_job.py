"""Runs load-test gates as in-cluster Jobs and reads their verdicts back.

Each gate run is the load-test package's Job (`llmops_loadtest.k8s.job`): an input
ConfigMap (profile and gate), the verdict ConfigMap ``<job>-verdict``, a ServiceAccount
whose Role may update that one ConfigMap, and a Job running ``llmops-loadtest run`` against
the plan's target (the gateway with the revision pinned, or the revision's Service). Every
object is owned by the ModelDeployment (deleted with it) and labelled with it.

Unlike a child process, a Job outlives the operator: a restarted operator (or a standby
that took the lease) finds the run by name and keeps waiting on it instead of starting it
again. The contract with the state machine is the process runner's:

- ``start`` is idempotent: a Job of that name already there is the same run;
- ``observe`` is ``None`` when no Job and no final verdict exist (the machine starts it);
- ``cancel`` deletes the runs a rollback, abort or new revision made pointless. It keeps
  their verdict ConfigMaps (the verdict and the Markdown summary people read; owned by the
  ModelDeployment): ``start`` replaces a leftover one with a pending verdict.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

import kopf
import kubernetes
import yaml
from kubernetes.client.exceptions import ApiException

from llmops_contracts.release import EVALUATIONS_KEY
from llmops_loadtest.k8s.job import LoadtestJobSpec, build_loadtest_job
from llmops_operator.clients import kube
from llmops_operator.clients.loadtest import read_evaluation_records
from llmops_operator.core.manifests.loadtest_plan import LoadTestPlan
from llmops_operator.core.manifests.workloads import LABEL_MD
from llmops_operator.core.rollout.interface import LoadTestObservation
from llmops_operator.core.state.status import LoadTestVerdict

log = logging.getLogger(__name__)
KEY_ANNOTATION = "llmops.dev/loadtest-key"
GRACE_S = 300.0  # what `plan.timeout_s` adds to the run's duration (the operator's grace)


@dataclass(frozen=True)
class JobPlacement:
    """Where the Jobs' pods run and as what: the image carrying ``llmops-loadtest``."""

    image: str
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)


def job_name(key: str) -> str:
    """``<modeldeployment>-<gate run>`` from the key ``<namespace>.<md>.<run>``, cut to fit a
    label value (63) with a hash of the key when too long."""
    _, _, rest = key.partition(".")
    md, _, run = rest.rpartition(".")
    name = f"{md}-{run}".lower()
    if len(name) <= 55:  # room for "-verdict" on the ConfigMap's name
        return name
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"{name[:46].rstrip('-')}-{digest}"


def _split_prefix(prefix: str) -> tuple[str, str]:
    namespace, _, md = prefix.rstrip(".").partition(".")
    return namespace, md


class JobLoadTestRunner:
    def __init__(self, placement: JobPlacement) -> None:
        self.placement = placement
        self._refused: dict[str, LoadTestObservation] = {}

    # -- the runner's interface (see clients.loadtest.ProcessLoadTestRunner) -----------------

    def start(self, key: str, name: str, plan: LoadTestPlan) -> None:
        namespace, md = _split_prefix(key.rpartition(".")[0])
        job = job_name(key)
        if self._job(namespace, job) is not None:
            return  # the same run, started before (maybe by an operator since restarted)
        spec = LoadtestJobSpec(
            name=job,
            namespace=namespace,
            image=self.placement.image,
            target_url=plan.target,
            profile_yaml=yaml.safe_dump(plan.profile, sort_keys=False),
            gate_yaml=yaml.safe_dump(plan.gate, sort_keys=False),
            duration_s=max(plan.timeout_s - GRACE_S, 1.0),
            labels={LABEL_MD: md},
            extra_args=(
                ("--mlflow-uri", plan.mlflow[0], "--mlflow-model", plan.mlflow[1])
                if plan.mlflow is not None
                else ()
            ),
            node_selector=self.placement.node_selector,
            tolerations=self.placement.tolerations,
            command=plan.command,
        )
        for manifest in build_loadtest_job(spec):
            manifest["metadata"].setdefault("annotations", {})[KEY_ANNOTATION] = key
            kopf.adopt(manifest)  # owned by the ModelDeployment: deleted with it
            _create_or_replace(manifest)
        log.info("%s: load test %s started as Job %s/%s", key, name, namespace, job)

    def refuse(self, key: str, name: str, message: str) -> None:
        """Record a run that cannot start (e.g. a profile that needs the gateway) as failed."""
        self._refused[key] = LoadTestObservation(name, LoadTestVerdict.FAILED, "", message)

    def observe(self, name: str, key: str) -> LoadTestObservation | None:
        if key in self._refused:
            return self._refused[key]
        namespace, _ = _split_prefix(key.rpartition(".")[0])
        job = job_name(key)
        verdict = self._verdict(namespace, f"{job}-verdict")
        final = _from_verdict(name, verdict or {}, namespace, job)
        if final is not None:
            return final
        found = self._job(namespace, job)
        if found is None:
            return None  # never started, or cancelled: the machine starts it (again)
        return _from_job(name, found.status, namespace, job)

    def cancel(self, prefix: str, keep: str | None = None) -> list[str]:
        """Delete the Jobs of keys under ``prefix`` except ``keep``; the keys of those still
        running. Verdict ConfigMaps stay (see the module docstring)."""
        for key in [k for k in self._refused if k.startswith(prefix) and k != keep]:
            del self._refused[key]
        if not prefix:
            return []  # the operator is stopping: in-cluster runs carry on without it
        namespace, md = _split_prefix(prefix)
        batch = kubernetes.client.BatchV1Api()
        found = batch.list_namespaced_job(namespace, label_selector=f"{LABEL_MD}={md}")
        stopped: list[str] = []
        item: Any
        for item in found.items:
            key = (item.metadata.annotations or {}).get(KEY_ANNOTATION, "")
            if not key.startswith(prefix) or key == keep:
                continue
            if item.status is not None and (item.status.active or 0) > 0:
                stopped.append(key)
            _delete_run(namespace, item.metadata.name)
        return stopped

    def close(self) -> None:
        """Nothing to stop: the Jobs run in the cluster, not in this process."""

    # -- reads ---------------------------------------------------------------------------------

    def _job(self, namespace: str, name: str) -> Any:
        try:
            return kubernetes.client.BatchV1Api().read_namespaced_job(name, namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def _verdict(self, namespace: str, name: str) -> dict[str, str] | None:
        try:
            found = kube.core().read_namespaced_config_map(name, namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return dict(found.data or {})


def _from_verdict(
    name: str, verdict: dict[str, str], namespace: str, job: str
) -> LoadTestObservation | None:
    """The verdict the Job published; ``None`` while it is pending (or there is none)."""
    link = f"kubectl -n {namespace} get configmap {job}-verdict -o yaml"
    passed, headline = verdict.get("passed"), str(verdict.get("headline") or "")
    if passed in ("true", "false"):
        value = LoadTestVerdict.PASSED if passed == "true" else LoadTestVerdict.FAILED
        records, problem = read_evaluation_records(verdict.get(EVALUATIONS_KEY))
        return LoadTestObservation(name, value, link, headline + problem, records)
    if passed == "error":
        reason = headline or "no reason given"
        return LoadTestObservation(name, LoadTestVerdict.FAILED, link, f"could not run: {reason}")
    return None


def _from_job(name: str, status: Any, namespace: str, job: str) -> LoadTestObservation:
    """No verdict yet: running, or a Job that ended without writing one (it failed)."""
    logs = f"kubectl -n {namespace} logs job/{job}"
    if status is not None and (status.failed or 0) > 0:
        message = f"the Job failed without a verdict: {_job_failure(status)}"
        return LoadTestObservation(name, LoadTestVerdict.FAILED, logs, message)
    if status is not None and (status.succeeded or 0) > 0:
        message = "the Job completed but left no verdict"
        return LoadTestObservation(name, LoadTestVerdict.FAILED, logs, message)
    return LoadTestObservation(name, LoadTestVerdict.RUNNING)


def _job_failure(status: Any) -> str:
    for condition in status.conditions or []:
        if condition.type == "Failed":
            return f"{condition.reason}: {condition.message}"
    return "see its pod's log"


def _create_or_replace(manifest: dict[str, Any]) -> None:
    """Create; an object left by an earlier run of this name is replaced (a verdict
    ConfigMap back to pending); a ServiceAccount or Job already there is kept."""
    kind, meta = manifest["kind"], manifest["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    create, replace = _calls(kind)
    try:
        create(namespace, manifest)
    except ApiException as err:
        if err.status != 409:
            raise
        if replace is not None:  # a ServiceAccount or Job of that name is already the one
            replace(name, namespace, manifest)


def _calls(kind: str) -> tuple[Any, Any]:
    core = kube.core()
    rbac = kubernetes.client.RbacAuthorizationV1Api()
    batch = kubernetes.client.BatchV1Api()
    return {
        "ConfigMap": (core.create_namespaced_config_map, core.replace_namespaced_config_map),
        "ServiceAccount": (core.create_namespaced_service_account, None),
        "Role": (rbac.create_namespaced_role, rbac.replace_namespaced_role),
        "RoleBinding": (rbac.create_namespaced_role_binding, rbac.replace_namespaced_role_binding),
        "Job": (batch.create_namespaced_job, None),
    }[kind]


def _ignoring_404(call: Any, name: str, namespace: str, **kwargs: Any) -> None:
    try:
        call(name, namespace, **kwargs)
    except ApiException as err:
        if err.status != 404:
            raise


def _delete_run(namespace: str, job: str) -> None:
    """The Job (its pod in the background) and its inputs and rights; not the verdict."""
    batch = kubernetes.client.BatchV1Api()
    rbac = kubernetes.client.RbacAuthorizationV1Api()
    core = kube.core()
    _ignoring_404(batch.delete_namespaced_job, job, namespace, propagation_policy="Background")
    _ignoring_404(core.delete_namespaced_config_map, f"{job}-input", namespace)
    _ignoring_404(rbac.delete_namespaced_role_binding, job, namespace)
    _ignoring_404(rbac.delete_namespaced_role, job, namespace)
    _ignoring_404(core.delete_namespaced_service_account, job, namespace)
