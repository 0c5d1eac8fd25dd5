"""`llmops install | upgrade | uninstall | template`: the llmops-stack chart from a platform config.

Registered as top-level commands in `llmops.app`. The cluster is the one
`llmops_infra.cluster.resolve_target` picks (the local one, or an allowed existing one).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console

from llmops_infra import cluster
from llmops_infra.charts import PlatformConfig, build_stack_values, load_platform_config
from llmops_infra.charts import helm as stack
from llmops_infra.charts.values import merge_values
from llmops_infra.settings import LocalSettings

console = Console()
# pyhelm3 logs every failed helm command; the CLI reports the failure itself, on one line.
logging.getLogger("pyhelm3").setLevel(logging.CRITICAL)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Platform config YAML (release, namespace, model, milvus, gateway, operator, "
        "values); defaults apply without one.",
        dir_okay=False,
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="KEY=VALUE (YAML value) merged into the chart values last, e.g. "
        "--set llm-inference.engine.tensorParallelSize=2",
    ),
]
TimeoutOption = Annotated[str, typer.Option("--timeout", help="How long helm --wait may take.")]


def parse_sets(pairs: list[str] | None) -> dict[str, Any]:
    """``a.b=1`` pairs as nested values; chart names may contain dashes, keys never dots."""
    values: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--set")
        node = values
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise typer.BadParameter(f"{key!r} overlaps another --set", param_hint="--set")
            node = child
        node[leaf] = yaml.safe_load(raw) if raw else ""
    return values


def _values(config: PlatformConfig, sets: list[str] | None) -> dict[str, Any]:
    return merge_values(build_stack_values(config), parse_sets(sets))


def _target(settings: LocalSettings, *, with_cluster: bool) -> stack.HelmTarget:
    kubeconfig = cluster.resolve_target(settings).kubeconfig if with_cluster else None
    return stack.HelmTarget(settings.bin_dir / "helm", kubeconfig)


def template(config: ConfigOption = None, set_: SetOption = None) -> None:
    """Print the manifests `llmops install` would apply (CRDs included); no cluster needed."""
    settings = LocalSettings()
    platform = load_platform_config(config)
    values = _values(platform, set_)
    text = asyncio.run(
        stack.render(
            _target(settings, with_cluster=False), platform.release, platform.namespace, values
        )
    )
    typer.echo(text, nl=False)


def _deploy(
    config: Path | None,
    sets: list[str] | None,
    timeout: str,
    *,
    upgrade: bool,
    install_missing: bool = False,
) -> None:
    settings = LocalSettings()
    platform = load_platform_config(config)
    values = _values(platform, sets)
    verb = "upgrading" if upgrade else "installing"
    with console.status(f"{verb} {platform.release} in {platform.namespace} (helm --wait)"):
        release = asyncio.run(
            stack.deploy(
                _target(settings, with_cluster=True),
                platform.release,
                platform.namespace,
                values,
                upgrade=upgrade,
                install_missing=install_missing,
                helm_timeout=timeout,
            )
        )
    console.print(
        f"[green]{release.name}[/] revision {release.revision} {release.status} "
        f"in {release.namespace}; check it: helm test {release.name} -n {release.namespace}"
    )


def install(
    config: ConfigOption = None, set_: SetOption = None, timeout: TimeoutOption = "10m"
) -> None:
    """Install gateway, Milvus, operator and a first model with one `helm install --wait`."""
    _deploy(config, set_, timeout, upgrade=False)


def upgrade(
    config: ConfigOption = None,
    set_: SetOption = None,
    timeout: TimeoutOption = "10m",
    install_missing: Annotated[
        bool,
        typer.Option("--install", help="Install the stack if it is not installed yet."),
    ] = False,
) -> None:
    """Apply changed config or charts to an installed stack (`helm upgrade --wait`)."""
    _deploy(config, set_, timeout, upgrade=True, install_missing=install_missing)


def uninstall(config: ConfigOption = None) -> None:
    """Remove the release. Milvus's data claim stays unless milvus.persistence.whenDeleted=Delete;
    the ModelDeployment CRD stays (Helm never deletes CRDs)."""
    settings = LocalSettings()
    platform = load_platform_config(config)
    with console.status(f"uninstalling {platform.release} from {platform.namespace}"):
        asyncio.run(
            stack.uninstall(
                _target(settings, with_cluster=True), platform.release, platform.namespace
            )
        )
    console.print(f"uninstalled {platform.release} from {platform.namespace}")
