"""The docs site's generated reference pages, with the command-line trees of this CLI.

The CLI is the top floor, so it is the one place that can hand its own command tree (and the
kubectl plugin's) to the page renderers in `llmops_infra.docs`. MkDocs calls
`reference_pages` at build time through `infra/docs/mkdocs_hooks.py` (`make docs`).
"""

from __future__ import annotations

import typer.main

from llmops.app import app
from llmops_infra.docs.pages import CliRoot
from llmops_infra.docs.pages import reference_pages as build_pages
from llmops_operator.plugin import app as kubectl_plugin


def cli_roots() -> list[CliRoot]:
    return [
        CliRoot(
            "llmops", typer.main.get_command(app), "cli.md", "the `llmops` command tree itself"
        ),
        CliRoot(
            "kubectl llmops",
            typer.main.get_command(kubectl_plugin),
            "kubectl-llmops.md",
            "the `kubectl-llmops` plugin's command tree itself",
        ),
    ]


def reference_pages(rules_yaml: str | None = None) -> dict[str, str]:
    """Every generated page by its path under ``docs/`` (see `llmops_infra.docs.pages`)."""
    return build_pages(cli_roots(), rules_yaml)
