"""`llmops demo`: ship a new model revision safely, end to end, on real pods (the steps are
in `llmops_infra.demo`); `llmops demo down` stops what it started. Registered in `llmops.app`.

Exit codes: 0 when the rollout ends as shown (revision 2 stable; with ``--fail-gate``,
rolled back by its gate) and no request of the steady client failed; 1 when one did; 2 with
one line naming the step that failed and what to read; 130 on Ctrl-C.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from llmops_infra.demo import DEFAULT_NAMESPACE, STRICT_SLO, Outcome, run_demo, stop_demo
from llmops_infra.settings import LocalSettings

console = Console(soft_wrap=True)
_err = Console(stderr=True, soft_wrap=True)
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _namespace(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise typer.BadParameter(f"{value!r} is not a namespace name (a DNS-1123 label)")
    return value


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # a SIGTERM (e.g. from make) cleans up like Ctrl-C


app = typer.Typer(
    help="Ship model revision 2 through a gated canary on real pods (`llmops demo`); stop "
    "what it started (`llmops demo down`).",
    invoke_without_command=True,
)


@app.callback()
def demo(
    ctx: typer.Context,
    namespace: Annotated[
        str,
        typer.Option(
            callback=_namespace,
            help="Namespace of the stack (`llmops local install`'s); the demo's "
            "ModelDeployment `chat` is made fresh there.",
        ),
    ] = DEFAULT_NAMESPACE,
    work_dir: Annotated[
        Path | None,
        typer.Option(
            file_okay=False,
            help="The manifest applied, the timeline page, the gate's summary. Default: "
            "~/.cache/llmops/demo.",
        ),
    ] = None,
    fail_gate: Annotated[
        bool,
        typer.Option(
            "--fail-gate",
            help=f"Gate revision 2 with an SLO no CPU meets ({STRICT_SLO}): watch the "
            "operator roll it back.",
        ),
    ] = False,
) -> None:
    """Ship model revision 2 through a canary on real pods: the stack installed with Helm on
    the local cluster's real node, revisions applied with kubectl, the in-cluster operator,
    a load-test Job, analysis on the in-cluster Prometheus; every request of a steady client
    counted."""
    if ctx.invoked_subcommand is not None:
        return
    settings = LocalSettings()
    folder = (work_dir or settings.cache_dir / "demo").absolute()
    goal = "a gate that must fail, then a rollback" if fail_gate else "a gated canary"
    console.print(f"[bold]llmops demo[/]: ship model revision 2 through {goal}", highlight=False)
    console.print(f"work dir: {folder}", highlight=False, markup=False)
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    try:
        result = run_demo(
            settings, console, namespace=namespace, work_dir=folder, fail_gate=fail_gate
        )
    except KeyboardInterrupt:
        _err.print("interrupted: what runs in the cluster stays (llmops demo down)",
                   highlight=False)  # fmt: skip
        raise typer.Exit(130) from None
    took = f"{result.seconds:.0f} s"
    failed = len(result.load.failures)
    if result.outcome is Outcome.PROMOTED:
        console.print(
            f"\n[green]revision 2 shipped[/]: it passed the load-test gate and analysis and "
            f"took all traffic ({took} from the patch)",
            highlight=False,
        )
    else:
        console.print(
            f"\n[yellow]revision 2 rolled back[/] by its gate, as --fail-gate asks; revision 1 "
            f"kept serving ({escape(result.reason)}: {escape(result.message)}; {took} from the "
            "patch)",
            highlight=False,
        )
    colour = "green" if failed == 0 else "red"
    console.print(f"[{colour}]steady client: {escape(result.load.summary())}[/]",
                  highlight=False)  # fmt: skip
    for failure in result.load.failures[:5]:
        console.print(f"  failed: {escape(failure)}", highlight=False)
    ns = f"-n {namespace}"
    console.print(
        "\n[bold]where to look[/]\n"
        f"  gateway:     kubectl {ns} port-forward svc/llmops-rag-gateway 8080  "
        "(then http://127.0.0.1:8080/v1/models)\n"
        f"  rollout:     kubectl llmops status chat {ns}   (or: kubectl {ns} get md chat)\n"
        f"  timeline:    {result.timeline}\n"
        f"  gate report: {result.report or 'none recorded'}\n"
        f"  Prometheus:  kubectl {ns} port-forward svc/llmops-prometheus 9090  "
        "(then http://127.0.0.1:9090)\n"
        f"  MLflow:      {result.registry}   (the registry: "
        f"production is version {result.released_version or 'unset'})\n"
        f"  stop it all: llmops demo down   (the whole demo took "
        f"{time.monotonic() - started:.0f} s)",
        highlight=False,
        markup=True,
    )
    if failed:
        raise typer.Exit(1)


@app.command()
def down(
    namespace: Annotated[str, typer.Option(callback=_namespace, help="The stack's namespace.")] = (
        DEFAULT_NAMESPACE
    ),
    keep_cluster: Annotated[
        bool, typer.Option("--keep-cluster", help="Leave the local cluster running.")
    ] = False,
) -> None:
    """Stop what the demo started: its ModelDeployment, the stack's releases and namespace,
    then the local cluster (which leaves nothing behind)."""
    settings = LocalSettings()
    stop_demo(
        settings,
        namespace=namespace,
        keep_cluster=keep_cluster,
        report=lambda line: console.print(f"[green]✔[/] {line}", highlight=False),
    )
