"""`kubectl-llmops`: the kubectl plugin (``kubectl llmops status|promote|abort|...``).

Every command is a plain Kubernetes write, so `kubectl patch`/`annotate` do the same:
- promote [--full], abort, retry: ``kubectl annotate md NAME llmops.dev/command=VERB:NONCE``
  (the operator handles each distinct value once and records it in status.lastCommand);
- pause / resume: ``kubectl patch md NAME --type merge -p '{"spec":{"paused":true}}'``;
- undo: patches spec.model/engine/pod/route back to a previous revision from status.history,
  with ``llmops.dev/command=undo:NONCE`` in the same patch (the operator's Event), and prints
  what changed as a diff of the spec's YAML;
- timeline [--html FILE]: reads status.timeline (recorded by the operator), writes nothing.
User mistakes end with one readable line and exit code 2.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import kubernetes
import typer
from kubernetes.client.exceptions import ApiException

from llmops_operator.clients.autoscalers import KEDA
from llmops_operator.core.manifests.workloads import LABEL_MD
from llmops_operator.core.spec.schema import ModelDeploymentSpec, SpecError, parse_spec
from llmops_operator.core.state.status import RolloutStatus
from llmops_operator.core.state.timeline import timeline_lines
from llmops_operator.views.status_text import (
    AutoscalersSeen,
    build_autoscaler_views,
    build_undo_patch,
    history_text,
    status_text,
    undo_diff_lines,
    undo_target,
)

GROUP, VERSION, PLURAL = "llmops.dev", "v1alpha1", "modeldeployments"
COMMAND = "llmops.dev/command"
app = typer.Typer(
    help="Progressive delivery of model revisions (ModelDeployment).", no_args_is_help=True
)
Namespace = Annotated[str | None, typer.Option("--namespace", "-n", help="Default: current.")]
Name = Annotated[str, typer.Argument(help="The ModelDeployment.")]


def fail(message: str) -> typer.Exit:
    typer.echo(f"kubectl-llmops: {message}", err=True)
    return typer.Exit(code=2)


def _api(namespace: str | None) -> tuple[Any, str]:
    try:
        kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]
        listed = kubernetes.config.list_kube_config_contexts()  # type: ignore[no-untyped-call]
        active = listed[1]
    except (kubernetes.config.ConfigException, OSError) as err:
        raise fail(f"no usable kubeconfig: {err}") from err
    ns = namespace or active.get("context", {}).get("namespace") or "default"
    return kubernetes.client.CustomObjectsApi(), ns


def _get(api: Any, ns: str, name: str) -> dict[str, Any]:
    try:
        obj: dict[str, Any] = api.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)
    except ApiException as err:
        raise fail(f"modeldeployment {ns}/{name}: {err.reason}") from err
    return obj


def _patch(api: Any, ns: str, name: str, body: dict[str, Any]) -> None:
    try:
        api.patch_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name, body)
    except ApiException as err:
        raise fail(f"modeldeployment {ns}/{name}: {err.reason}: {err.body}") from err


def _autoscalers(ns: str, name: str, spec: ModelDeploymentSpec) -> AutoscalersSeen | None:
    """The revisions' HPAs and ScaledObjects as they are now (their bounds and the HPA
    controller's current/desired replicas); None when the spec asks for no autoscaling."""
    if spec.engine.autoscaling is None:
        return None
    selector = f"{LABEL_MD}={name}"
    hpa_api: Any = kubernetes.client.AutoscalingV2Api()
    custom: Any = kubernetes.client.CustomObjectsApi()
    try:
        listed = hpa_api.list_namespaced_horizontal_pod_autoscaler(ns, label_selector=selector)
    except ApiException as err:
        return AutoscalersSeen(problem=f"horizontalpodautoscalers: {err.reason}")
    client: Any = kubernetes.client.ApiClient()
    hpas = [client.sanitize_for_serialization(item) for item in listed.items]
    try:
        found = custom.list_namespaced_custom_object(
            *KEDA[:2], ns, KEDA[2], label_selector=selector
        )
    except ApiException as err:
        if err.status != 404:  # 404: KEDA is not installed, so there are no ScaledObjects
            return AutoscalersSeen(problem=f"scaledobjects: {err.reason}")
        found = {}
    return AutoscalersSeen(views=build_autoscaler_views(hpas, found.get("items", [])))


def _command(name: str, namespace: str | None, verb: str) -> None:
    api, ns = _api(namespace)
    _get(api, ns, name)
    value = f"{verb}:{time.time_ns()}"
    _patch(api, ns, name, {"metadata": {"annotations": {COMMAND: value}}})
    typer.echo(f"modeldeployment {ns}/{name}: {verb} requested ({value})")


@app.command()
def status(
    name: Name,
    namespace: Namespace = None,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh every 2 s.")] = False,
) -> None:
    """The phase, the step list (done / current / to come), analysis, each revision's
    autoscaler (bounds, current/desired replicas), conditions and the latest timeline."""
    api, ns = _api(namespace)
    while True:
        obj = _get(api, ns, name)
        try:
            spec = parse_spec(obj.get("spec"))
        except SpecError as err:
            raise fail(f"invalid spec: {err}") from err
        rollout = RolloutStatus.from_raw(obj.get("status"))
        text = status_text(name, spec, rollout, _autoscalers(ns, name, spec))
        if not watch:
            typer.echo(text)
            return
        typer.echo("\x1b[2J\x1b[H" + text)
        time.sleep(2)


@app.command()
def promote(
    name: Name,
    namespace: Namespace = None,
    full: Annotated[bool, typer.Option("--full", help="Skip every remaining step.")] = False,
) -> None:
    """End the current pause or gate (``--full``: promote now, skipping all steps)."""
    _command(name, namespace, "promote-full" if full else "promote")


@app.command()
def abort(name: Name, namespace: Namespace = None) -> None:
    """Send the candidate's traffic back to 0 and mark the rollout RolledBack."""
    _command(name, namespace, "abort")


@app.command()
def retry(name: Name, namespace: Namespace = None) -> None:
    """Restart a RolledBack rollout from its first step."""
    _command(name, namespace, "retry")


@app.command()
def pause(name: Name, namespace: Namespace = None) -> None:
    """Freeze the steps (spec.paused=true)."""
    api, ns = _api(namespace)
    _patch(api, ns, name, {"spec": {"paused": True}})
    typer.echo(f"modeldeployment {ns}/{name}: paused")


@app.command()
def resume(name: Name, namespace: Namespace = None) -> None:
    """Continue the steps (spec.paused=false)."""
    api, ns = _api(namespace)
    _patch(api, ns, name, {"spec": {"paused": False}})
    typer.echo(f"modeldeployment {ns}/{name}: resumed")


@app.command()
def undo(
    name: Name,
    namespace: Namespace = None,
    to_revision: Annotated[str | None, typer.Option(help="Revision or hash.")] = None,
) -> None:
    """Roll the spec back to a previous revision (instant inside a scale-down window)."""
    api, ns = _api(namespace)
    resource = _get(api, ns, name)
    current = RolloutStatus.from_raw(resource.get("status"))
    spec = resource.get("spec") or {}
    try:
        target = undo_target(current, to_revision)
        body = build_undo_patch(current, to_revision, spec)
    except LookupError as err:
        raise fail(str(err)) from err
    where = f"modeldeployment {ns}/{name}"
    diff = undo_diff_lines(spec, body)
    if not diff:
        typer.echo(f"{where}: spec already is revision {target.revision} ({target.hash})")
        return
    # The command rides in the same patch: the operator posts an UndoneByUser Event for it.
    command = f"undo:{time.time_ns()}"
    _patch(api, ns, name, {**body, "metadata": {"annotations": {COMMAND: command}}})
    typer.echo(f"{where}: spec set back to revision {target.revision} ({target.hash})")
    typer.echo("\n".join(diff))


@app.command()
def history(name: Name, namespace: Namespace = None) -> None:
    """Promoted and rolled-back revisions, oldest first."""
    api, ns = _api(namespace)
    typer.echo(history_text(RolloutStatus.from_raw(_get(api, ns, name).get("status"))))


@app.command()
def timeline(
    name: Name,
    namespace: Namespace = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Write a self-contained HTML page (plot and table) here."),
    ] = None,
    every_rollout: Annotated[
        bool, typer.Option("--all", help="Every rollout still kept, not only the latest.")
    ] = False,
) -> None:
    """The rollout, one line per phase, step or weight change: time since it started, phase,
    step, canary weight (``--html``: the weight over time as a picture)."""
    api, ns = _api(namespace)
    current = RolloutStatus.from_raw(_get(api, ns, name).get("status"))
    if html is None:
        typer.echo("\n".join(timeline_lines(current, every_rollout=every_rollout)))
        return
    # matplotlib loads only here: every other command stays quick to start.
    from llmops_operator.timeline_plot import render_timeline_page  # noqa: PLC0415

    page = render_timeline_page(ns, name, current, datetime.now(UTC), every_rollout=every_rollout)
    try:
        html.write_text(page, encoding="utf-8")
    except OSError as err:
        raise fail(f"cannot write {html}: {err.strerror or err}") from err
    typer.echo(f"modeldeployment {ns}/{name}: timeline written to {html}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
