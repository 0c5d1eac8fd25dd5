"""`llmops demo`: ship a new model revision safely, end to end, on this machine (the steps
and what stands in for what are in `llmops_infra.demo`). Registered in `llmops.app`.

Exit codes: 0 when the rollout ends as shown (revision 2 stable; with ``--fail-gate``,
rolled back by its gate), 2 with one line naming the step that failed and the log to read,
130 on Ctrl-C (the processes the demo started are stopped first).
"""

from __future__ import annotations

import re
import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from llmops_infra.demo import DEFAULT_NAMESPACE, STRICT_SLO, Outcome, run_demo
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


def demo(
    namespace: Annotated[
        str,
        typer.Option(
            callback=_namespace,
            help="Namespace of the demo, made fresh each run (one the demo did not make is "
            "refused, never touched).",
        ),
    ] = DEFAULT_NAMESPACE,
    work_dir: Annotated[
        Path | None,
        typer.Option(
            file_okay=False,
            help="Routing table, logs, gate reports, timeline page. Default: ~/.cache/llmops/demo.",
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
    """Ship model revision 2 through a load-tested canary on the local cluster (about a minute
    warm): real operator, gateway, Locust and vLLM; prints the status, timeline and report."""
    settings = LocalSettings()
    folder = (work_dir or settings.cache_dir / "demo").absolute()
    goal = "a gate that must fail, then a rollback" if fail_gate else "a load-tested canary"
    console.print(f"[bold]llmops demo[/]: ship model revision 2 through {goal}", highlight=False)
    console.print(f"work dir (logs, reports, timeline): {folder}", highlight=False, markup=False)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        result = run_demo(
            settings, console, namespace=namespace, work_dir=folder, fail_gate=fail_gate
        )
    except KeyboardInterrupt:
        _err.print("interrupted: the demo's gateway and operator are stopped", highlight=False)
        raise typer.Exit(130) from None
    took = f"{result.seconds:.0f} s"
    if result.outcome is Outcome.PROMOTED:
        console.print(
            f"\n[green]revision 2 shipped[/]: it passed the load-test gate and took all traffic "
            f"({took} from the patch)",
            highlight=False,
        )
    else:
        console.print(
            f"\n[yellow]revision 2 rolled back[/] by its gate, as --fail-gate asks; revision 1 "
            f"kept serving ({escape(result.reason)}: {escape(result.message)}; {took} from the "
            "patch)",
            highlight=False,
        )
    console.print(f"timeline page:    {result.timeline}", highlight=False, markup=False)
    report = result.report or "none recorded"
    console.print(f"load-test report: {report}", highlight=False, markup=False)
    console.print(
        "still running: the cluster (stop it: llmops cluster down) and the engine (stop it: "
        "llmops engine down)",
        highlight=False,
    )
