"""One reconcile tick of a ModelDeployment: observe, measure, advance, apply, record.

Order matters for crash safety: autoscalers no longer wanted go first (a revision leaving
autoscaling gets its replicas back from the operator), then workloads and their autoscalers
(a revision must exist before traffic reaches it), then traffic, then the alias entry or
HTTPRoute refs the spec no longer uses (the new ones are in place), then deletions (traffic
has already left what is deleted), then the status patch (``routedAlias`` and
``routedHttpRoute`` move only once the old ones are gone). A crash anywhere repeats the tick
from the stored status; every step is idempotent, so the repeat converges on the same result.

With router kserve the revisions are KServe's, observed in the InferenceService's status,
and the decision holds no workloads: the same steps then run none of ours and delete only
Deployments, Services and autoscalers this ModelDeployment made (after a router change).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypedDict

import kopf
from opentelemetry import trace
from opentelemetry.trace import NoOpTracer, Tracer

from llmops_operator import metrics
from llmops_operator.clients import autoscalers, kube
from llmops_operator.clients.gateway import served_table_version
from llmops_operator.clients.loadtest import LoadTestRunner
from llmops_operator.clients.mlflow import RegistryUnavailableError
from llmops_operator.clients.prometheus import measure
from llmops_operator.core.manifests.autoscalers import HPA_API, build_autoscaler_spec
from llmops_operator.core.manifests.evaluation_plan import plan_evaluation
from llmops_operator.core.manifests.kserve import (
    InferenceServiceError,
    build_revision_observations,
    read_state,
)
from llmops_operator.core.manifests.loadtest_plan import (
    LoadTestPlan,
    LoadTestPlanError,
    check_served_table,
    plan_load_test,
)
from llmops_operator.core.manifests.workloads import (
    RoutingTableConflictError,
    build_deployment_spec,
    build_service_spec,
    workload_name,
)
from llmops_operator.core.registry.resolution import ModelResolution
from llmops_operator.core.rollout.advance import advance, plan_measurements
from llmops_operator.core.rollout.interface import (
    Decision,
    EvaluationRequest,
    LoadTestRequest,
    Observations,
    RevisionObservation,
    Role,
    Transition,
    WorkloadIntent,
)
from llmops_operator.core.rollout.validity import INVALID_SPEC, mark_spec_invalid
from llmops_operator.core.spec.schema import (
    ModelDeploymentSpec,
    RevisionTemplate,
    SpecError,
    parse_spec,
    template_of,
)
from llmops_operator.core.state.phases import ConditionType, Phase, set_condition
from llmops_operator.core.state.status import LoadTestStatus, LoadTestVerdict, RolloutStatus
from llmops_operator.handlers.reconcile_claims import reconcile_claims
from llmops_operator.handlers.record_manifest import record_manifest
from llmops_operator.handlers.release_traffic import reconcile_routed_targets
from llmops_operator.handlers.resolve_model import (
    record_release,
    resolve_model,
    wait_for_registry,
)
from llmops_operator.routers import GatewayRouter, read_inference_service, router_for
from llmops_operator.settings import OperatorSettings

COMMAND_ANNOTATION = "llmops.dev/command"
log = logging.getLogger(__name__)
_NO_TRACES = NoOpTracer()


def reconcile_rollout(
    *,
    settings: OperatorSettings,
    runner: LoadTestRunner,
    body: kopf.Body,
    namespace: str,
    name: str,
    patch: kopf.Patch,
    tracer: Tracer = _NO_TRACES,
) -> None:
    """One tick; each step is a child span of the tick's (`llmops_operator.tracing`)."""
    started = time.monotonic()
    now = datetime.now(UTC)
    status = RolloutStatus.from_raw(body.get("status"))
    generation = int(body.metadata.get("generation") or 1)
    try:
        # A registry reference becomes the URI it pins (asked once, kept in .status).
        with tracer.start_as_current_span("resolve model"):
            spec, resolution = resolve_model(
                settings,
                parse_spec(dict(body.spec)),
                status,
                body.get("status"),
                generation=generation,
                now=now,
            )
    except RegistryUnavailableError as err:
        wait_for_registry(
            err, settings=settings, status=status, generation=generation, now=now, patch=patch
        )
    except SpecError as err:
        mark_invalid(
            body, status=status, generation=generation, message=str(err), now=now, patch=patch
        )
        raise kopf.PermanentError(str(err)) from err
    # One owner per traffic target (core.rollout.claims): a loser writes nothing and keeps its
    # workloads and progress as they are until the target is free.
    if not reconcile_claims(
        body,
        spec=spec,
        status=status,
        namespace=namespace,
        name=name,
        generation=generation,
        now=now,
        patch=patch,
    ):
        return
    with tracer.start_as_current_span("observe"):
        stable, canary, autoscaled = observe_revisions(spec, status, namespace, name)
        command = body.metadata.annotations.get(COMMAND_ANNOTATION)
        obs = Observations(
            generation=generation,
            stable=stable,
            canary=canary,
            measurements=tuple(
                measure_due(
                    settings, spec=spec, status=status, namespace=namespace, name=name, now=now
                )
            ),
            load_test=observe_gate(runner, status.load_test, namespace, name),
            evaluation=observe_gate(runner, status.evaluation, namespace, name),
            command=command if command and command != status.last_command else None,
            autoscaled=autoscaled,
        )
    decision = advance(spec, status, obs, now)
    phase_after = decision.status.phase.value if decision.status.phase else ""
    trace.get_current_span().set_attribute("llmops.phase", phase_after)
    try:
        with tracer.start_as_current_span(
            "apply decision", attributes={"llmops.phase": phase_after}
        ):
            apply_decision(
                settings,
                runner=runner,
                spec=spec,
                decision=decision,
                namespace=namespace,
                name=name,
                patch=patch,
                resolution=resolution,
            )
    except kube.InvalidObjectError as err:
        # A value the schema let through but Kubernetes refuses (a label, a name): the spec
        # is wrong, not the cluster; say so once instead of retrying forever.
        message = f"spec: {err}"
        mark_invalid(body, status=status, generation=generation, message=message, now=now,
                     patch=patch)  # fmt: skip
        raise kopf.PermanentError(message) from err
    record_release(
        settings,
        spec=spec,
        resolution=resolution,
        before=status,
        decision=decision,
        deployment=f"{namespace}/{name}",
        now=now,
        patch=patch,
    )
    record_manifest(
        settings,
        spec=spec,
        resolution=resolution,
        raw_status=body.get("status"),
        before=status,
        decision=decision,
        namespace=namespace,
        name=name,
        now=now,
        patch=patch,
    )
    for event in decision.events:
        log.info("%s/%s transition %s: %s", namespace, name, event.reason, event.message)
        kopf.event(
            body,
            type="Warning" if event.warning else "Normal",
            reason=event.reason,
            message=event.message,
        )
        phase = decision.status.phase.value if decision.status.phase else ""
        metrics.TRANSITIONS.labels(namespace, name, phase, event.reason).inc()
    for m in obs.measurements:
        metrics.MEASUREMENTS.labels(namespace, name, m.metric, m.result.value).inc()
    metrics.CANARY_WEIGHT.labels(namespace, name).set(decision.status.canary_weight)
    metrics.TICK_SECONDS.labels(namespace, name).set(time.monotonic() - started)


def observe_revisions(
    spec: ModelDeploymentSpec, status: RolloutStatus, namespace: str, name: str
) -> tuple[RevisionObservation | None, RevisionObservation | None, frozenset[str]]:
    """The stable and the candidate as they run, and the revisions others autoscale: our
    Deployments, or with router kserve the InferenceService's revisions
    (`core.manifests.kserve`)."""
    if spec.route.router == "kserve":
        isvc = read_inference_service(namespace, spec.route.inference_service or "")
        stable, canary = build_revision_observations(read_state(isvc), status)
        return stable, canary, frozenset()
    seen = kube.observe_revisions(namespace, name)
    foreign = autoscalers.foreign_targets(namespace, name)
    autoscaled = frozenset(h for h in seen if workload_name(name, h) in foreign)
    return seen.get(status.stable_hash or ""), seen.get(status.canary_hash or ""), autoscaled


def measure_due(
    settings: OperatorSettings,
    *,
    spec: ModelDeploymentSpec,
    status: RolloutStatus,
    namespace: str,
    name: str,
    now: datetime,
) -> list[Any]:
    if status.canary_hash is None:
        return []
    deployment = workload_name(name, status.canary_hash)
    stable = workload_name(name, status.stable_hash) if status.stable_hash else ""
    queries = plan_measurements(spec, status, namespace, deployment, now, stable_deployment=stable)
    if not queries:
        return []
    return list(measure(settings.prometheus_url, queries, settings.prometheus_timeout_s))


def observe_gate(
    runner: LoadTestRunner, run: LoadTestStatus | None, namespace: str, name: str
) -> Any:
    """The runner's view of a gate run in status (``loadTest`` or ``evaluation``)."""
    if run is None:
        return None
    return runner.observe(run.name, f"{namespace}.{name}.{run.name}")


def apply_decision(
    settings: OperatorSettings,
    *,
    runner: LoadTestRunner,
    spec: ModelDeploymentSpec,
    decision: Decision,
    namespace: str,
    name: str,
    patch: kopf.Patch,
    resolution: ModelResolution | None = None,
) -> None:
    uri = spec.model.uri or decision.status.resolved_uri or ""
    autoscaling = spec.engine.autoscaling
    scaler_kind = "ScaledObject" if autoscaling and autoscaling.kind == "keda" else HPA_API[1]
    wanted = {(scaler_kind, w.revision_hash) for w in decision.workloads if w.autoscaler}
    autoscalers.delete_except(namespace, name, wanted)
    for intent in decision.workloads:
        ensure_workload(name, namespace, intent, uri)
        if autoscaling is not None and intent.autoscaler is not None:
            scaler = build_autoscaler_spec(
                name, intent.revision_hash, namespace, autoscaling, intent.autoscaler
            )
            kopf.adopt(scaler)
            autoscalers.ensure(namespace, scaler)
    status = decision.status
    try:
        router_for(spec, settings).apply(namespace, name, spec, decision.traffic, status)
    except (RoutingTableConflictError, InferenceServiceError) as err:
        # The gateway would reject the whole table (keep the old one), or the InferenceService
        # cannot carry the rollout: say why and come back.
        status.conditions = set_condition(
            status.conditions,
            ConditionType.PROGRESSING,
            False,
            reason=(
                "RoutingTableRejected"
                if isinstance(err, RoutingTableConflictError)
                else "InferenceServiceUnusable"
            ),
            message=str(err),
            now=datetime.now(UTC),
        )
        patch.status.update(status.to_raw())
        raise kopf.TemporaryError(str(err), delay=30) from err
    # The new alias or HTTPRoute is written: the old one can go (Events posted with the tick's).
    decision.events.extend(
        reconcile_routed_targets(settings, spec=spec, status=status, namespace=namespace, name=name)
    )
    kube.delete_revisions_except(namespace, name, {w.revision_hash for w in decision.workloads})
    run_load_tests(
        settings,
        runner,
        spec=spec,
        decision=decision,
        namespace=namespace,
        name=name,
        resolution=resolution,
    )
    patch.status.update(status.to_raw())


def run_load_tests(
    settings: OperatorSettings,
    runner: LoadTestRunner,
    *,
    spec: ModelDeploymentSpec,
    decision: Decision,
    namespace: str,
    name: str,
    resolution: ModelResolution | None = None,
) -> None:
    """Start the gate run (load test or evaluation) the machine asked for; stop runs it no
    longer waits on. A registry revision's report is logged to MLflow against its version."""
    status, prefix = decision.status, f"{namespace}.{name}."
    # At most one gate runs: the current step's (a step holds one action).
    waiting = [
        run
        for run in (status.load_test, status.evaluation)
        if run is not None
        and run.verdict is LoadTestVerdict.RUNNING
        and run.step == status.current_step_index
        and status.phase is Phase.ANALYZING
    ]
    keep = f"{prefix}{waiting[0].name}" if waiting else None
    for key in runner.cancel(prefix, keep=keep):
        log.info("%s/%s: gate run %s stopped (no longer needed)", namespace, name, key)
    mlflow_version = (
        (resolution.tracking_uri, resolution.name, resolution.version)
        if resolution is not None
        else None
    )
    if not gateway_serves_table(settings, spec=spec, decision=decision, namespace=namespace):
        return  # asked again next tick, the run's startedAt unchanged (the wait's clock)
    if decision.start_evaluation is not None:
        start_evaluation(
            settings, runner, spec=spec, decision=decision, namespace=namespace, name=name,
            mlflow_version=mlflow_version,
        )  # fmt: skip
    request = decision.start_load_test
    if request is None:
        return
    start_gate_run(
        settings, runner, spec=spec, request=request, namespace=namespace, name=name,
        mlflow_version=mlflow_version,
        make_plan=lambda args: plan_load_test(request.spec, **args),
    )  # fmt: skip


def gateway_serves_table(
    settings: OperatorSettings, *, spec: ModelDeploymentSpec, decision: Decision, namespace: str
) -> bool:
    """Before a gate run through the gateway starts: does the gateway serve the routing table
    this operator wrote (`check_served_table`)? False: wait (the phase message says so)."""
    status = decision.status
    request = decision.start_evaluation or decision.start_load_test
    run = status.evaluation if decision.start_evaluation is not None else status.load_test
    if (
        request is None
        or run is None
        or not settings.loadtest_gateway_url
        or spec.route.router != "gateway"
        or settings.loadtest_verify_table_s <= 0
    ):
        return True
    written = str(GatewayRouter(settings).read_table(namespace).get("version") or "")
    check = check_served_table(
        written,
        served_table_version(settings.loadtest_gateway_url),
        waited_s=(datetime.now(UTC) - run.started_at).total_seconds(),
        limit_s=settings.loadtest_verify_table_s,
    )
    if not check.start:
        status.message = f"{status.message}: {check.note}" if status.message else check.note
    elif check.warning:
        decision.events.append(Transition("GatewayTableNotVerified", check.note, warning=True))
    return check.start


class GatePlanArgs(TypedDict):
    """What `plan_load_test` and `plan_evaluation` both take, besides their gate's spec."""

    name: str
    md_name: str
    namespace: str
    alias: str
    revision_hash: str
    role: Role
    template: RevisionTemplate
    gateway_url: str
    grace_s: float
    mlflow_version: tuple[str, str, str] | None


def start_gate_run(
    settings: OperatorSettings,
    runner: LoadTestRunner,
    *,
    spec: ModelDeploymentSpec,
    request: LoadTestRequest | EvaluationRequest,
    namespace: str,
    name: str,
    mlflow_version: tuple[str, str, str] | None,
    make_plan: Callable[[GatePlanArgs], LoadTestPlan],
    refusal: str = "",
) -> None:
    """Plan gate run ``request.name`` with ``make_plan`` and start it on the runner; a plan
    that cannot be made (`LoadTestPlanError`) is refused instead: the run fails with
    ``refusal`` and the reason, and so does the gate."""
    key = f"{namespace}.{name}.{request.name}"
    try:
        plan = make_plan(
            GatePlanArgs(
                name=request.name,
                md_name=name,
                namespace=namespace,
                alias=spec.alias,
                revision_hash=request.revision_hash,
                role=request.role,
                template=template_of(spec),
                gateway_url=settings.loadtest_gateway_url,
                grace_s=settings.loadtest_grace_s,
                mlflow_version=mlflow_version,
            )
        )
    except LoadTestPlanError as err:
        runner.refuse(key, request.name, f"{refusal}{err}")
        return
    runner.start(key, request.name, plan)


def start_evaluation(
    settings: OperatorSettings,
    runner: LoadTestRunner,
    *,
    spec: ModelDeploymentSpec,
    decision: Decision,
    namespace: str,
    name: str,
    mlflow_version: tuple[str, str, str] | None,
) -> None:
    """An evaluation step's run: its datasets read from the ConfigMaps the step names, run
    by the load-test gate's runner (``eval gate``); a plan that cannot be made (a missing
    ConfigMap, a dataset that does not parse, no gateway for rag) fails the gate, named."""
    request = decision.start_evaluation
    assert request is not None
    gate = request.spec
    golden = probes = None
    if gate.rag is not None:
        golden = kube.read_config_map_key(
            namespace, gate.rag.dataset_config_map, gate.rag.dataset_key
        )
    if gate.fairness is not None:
        probes = kube.read_config_map_key(
            namespace, gate.fairness.probes_config_map, gate.fairness.probes_key
        )
    start_gate_run(
        settings, runner, spec=spec, request=request, namespace=namespace, name=name,
        mlflow_version=mlflow_version,
        make_plan=lambda args: plan_evaluation(gate, **args, golden=golden, probes=probes),
        refusal="could not run: ",
    )  # fmt: skip


def ensure_workload(name: str, namespace: str, intent: WorkloadIntent, uri: str) -> None:
    """The revision's Deployment and Service; replicas only where no autoscaler owns them."""
    if intent.template is None:
        if intent.write_replicas:
            kube.scale(namespace, workload_name(name, intent.revision_hash), intent.replicas)
        return
    revision_uri = intent.template.model.uri or uri
    deployment = build_deployment_spec(
        name, intent.revision_hash, intent.template, intent.replicas, revision_uri
    )
    for kind, body in (
        ("Deployment", deployment),
        ("Service", build_service_spec(name, intent.revision_hash, intent.template)),
    ):
        kopf.adopt(body)
        kube.ensure(kind, namespace, body, write_replicas=intent.write_replicas)


def mark_invalid(
    body: kopf.Body,
    *,
    status: RolloutStatus,
    generation: int,
    message: str,
    now: datetime,
    patch: kopf.Patch,
) -> None:
    """Phase Failed with a readable SpecValid=False condition (once per generation; the rule,
    and how a fixed spec resumes, is `core.rollout.validity`)."""
    if not mark_spec_invalid(status, message, generation=generation, now=now):
        return
    patch.status.update(status.to_raw())
    kopf.event(body, type="Warning", reason=INVALID_SPEC, message=message)
