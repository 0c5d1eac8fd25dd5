"""`llmops local`: the whole stack on the local cluster's real node, with the local overlay."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from llmops_infra import cluster
from llmops_infra.charts import local_install
from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings, base_env
from llmops_infra.toolchain import ensure_tools, tool_env

app = typer.Typer(
    help="Install the stack on the local cluster's real node (charts/llmops-stack/"
    "values-local.yaml: images built here, vLLM on the CPU).",
    no_args_is_help=True,
)
_err = Console(stderr=True)

_NAMESPACE = typer.Option("--namespace", "-n", help="Namespace (Pod Security restricted).")
_RELEASE = typer.Option("--release", help="Release name of the umbrella chart.")


def _target(settings: LocalSettings) -> local_install.LocalTarget:
    target = cluster.resolve_target(settings)
    if not target.local:
        raise LlmopsError(
            "llmops local",
            "only installs on the local cluster",
            "unset LLMOPS_USE_EXISTING_CLUSTER",
        )
    if not settings.real_node:
        raise LlmopsError("llmops local", "needs the real node", "unset LLMOPS_REAL_NODE")
    ensure_tools(settings)
    return local_install.LocalTarget(target.kubeconfig, tool_env(settings, base_env()))


@app.command()
def install(
    namespace: Annotated[str, _NAMESPACE] = "llmops",
    release: Annotated[str, _RELEASE] = "llmops",
    timeout: Annotated[str, typer.Option(help="helm --wait timeout.")] = "20m",
) -> None:
    """Images, claims and the stack (`helm upgrade --install --wait`)."""
    settings = LocalSettings()
    done = local_install.install(
        settings,
        _target(settings),
        namespace=namespace,
        release=release,
        timeout=timeout,
        report=lambda msg: _err.print(f"[green]✓[/] {msg}", highlight=False),
    )
    _err.print(
        f"{done.release} Ready in {done.namespace}; check it: helm test {done.release} "
        f"-n {done.namespace}; reach it: kubectl -n {done.namespace} port-forward "
        f"svc/{done.release}-rag-gateway 8080",
        highlight=False,
    )


@app.command()
def uninstall(
    namespace: Annotated[str, _NAMESPACE] = "llmops",
    release: Annotated[str, _RELEASE] = "llmops",
) -> None:
    """Remove both releases, the namespace and the engine's volumes (the folders stay)."""
    settings = LocalSettings()
    local_install.uninstall(_target(settings), namespace=namespace, release=release)
    _err.print(f"removed {release} and {namespace}", highlight=False)
