"""`llmops images`: the local cluster's container images, built here and loaded into containerd."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from llmops_infra import images
from llmops_infra.settings import LocalSettings

app = typer.Typer(
    help="Build the local cluster's images (no Docker engine, no registry) and load them.",
    no_args_is_help=True,
)

_out = Console()
_err = Console(stderr=True)

_NAMES = typer.Argument(help="Images to build (default: all; coredns needs --coredns-binary).")
_COREDNS = typer.Option(
    "--coredns-binary",
    help="The coredns binary `llmops cluster build` made (builds the coredns image).",
    exists=True,
    dir_okay=False,
)


@app.command()
def build(
    names: Annotated[list[str] | None, _NAMES] = None,
    coredns_binary: Annotated[Path | None, _COREDNS] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when cached.")] = False,
) -> None:
    """Build images into OCI archives under the cache; unchanged inputs are a cache hit."""
    built = images.build_images(
        LocalSettings(), names or (), coredns_binary=coredns_binary, force=force, console=_err
    )
    for image in built:
        _out.print(f"{image.ref}  {image.archive}", soft_wrap=True, highlight=False)


@app.command()
def load(
    names: Annotated[list[str] | None, _NAMES] = None,
    coredns_binary: Annotated[Path | None, _COREDNS] = None,
    socket: Annotated[
        Path | None,
        typer.Option("--socket", help="containerd's socket (default: the local node's)."),
    ] = None,
) -> None:
    """Import the images (built first if needed) into containerd's k8s.io namespace."""
    settings = LocalSettings()
    built = images.build_images(settings, names or (), coredns_binary=coredns_binary, console=_err)
    images.load([image.archive for image in built], socket or settings.containerd_socket)
    for image in built:
        _out.print(f"loaded {image.ref}", highlight=False)


@app.command("engine-mounts")
def engine_mounts() -> None:
    """Print the read-only hostPath mounts the local engine pod needs (host -> container)."""
    for host, container in images.engine_mounts(LocalSettings()):
        _out.print(f"{host} -> {container}", soft_wrap=True, highlight=False)
