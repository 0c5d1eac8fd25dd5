"""The CLI reference: every command of a Typer app, its help, usage and options.

Walks the command tree ``typer.main.get_command(app)`` builds (Typer 0.29 vendors Click as
``typer._click``; its ``Command`` and ``Context`` are what the tree is made of), so the page
says what ``--help`` says: each option's line is the parameter's own help record, defaults
and ``[required]`` included. Hidden commands and options are left out, as ``--help`` does.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass

from typer._click.core import Command, Context
from typer.core import TyperGroup

from llmops_infra.docs.markdown import cell, code, escape, table


@dataclass(frozen=True)
class CommandDoc:
    """One command (or group) of the tree, as ``--help`` would show it."""

    path: str
    """The full invocation, e.g. ``llmops cluster up``."""
    help: str
    usage: str
    params: tuple[tuple[str, str], ...]
    """(signature, help) of every visible argument and option, in ``--help`` order."""
    subcommands: tuple[str, ...]
    depth: int
    """0 for the root, 1 for its commands, and so on."""


def walk_commands(root: Command, prog: str) -> Iterator[CommandDoc]:
    """Every visible command under ``root`` (itself first), depth first, in listing order."""
    yield from _walk(root, root.context_class(root, info_name=prog), 0)


def _walk(command: Command, ctx: Context, depth: int) -> Iterator[CommandDoc]:
    children: list[tuple[str, Command]] = []
    if isinstance(command, TyperGroup):
        for name in command.list_commands(ctx):
            child = command.get_command(ctx, name)
            if child is not None and not child.hidden:
                children.append((name, child))
    records = (param.get_help_record(ctx) for param in command.get_params(ctx))
    yield CommandDoc(
        path=ctx.command_path,
        help=inspect.cleandoc(command.help or ""),
        usage=" ".join([ctx.command_path, *command.collect_usage_pieces(ctx)]),
        params=tuple(record for record in records if record is not None),
        subcommands=tuple(name for name, _ in children),
        depth=depth,
    )
    for name, child in children:
        yield from _walk(child, child.context_class(child, info_name=name, parent=ctx), depth + 1)


def anchor(path: str) -> str:
    """The heading id of a command's section: ``llmops cluster up`` -> ``llmops-cluster-up``."""
    return path.replace(" ", "-")


def render_command(doc: CommandDoc, intro: str = "") -> str:
    """The command's section; ``intro`` goes right under its heading."""
    level = "#" * min(doc.depth + 1, 4)
    parts = [f"{level} `{doc.path}` {{ #{anchor(doc.path)} }}"]
    if intro:
        parts.append(intro)
    if doc.help:
        parts.append(escape(doc.help))
    parts.append(f"```text\n{doc.usage}\n```")
    if doc.subcommands:
        links = ", ".join(
            f"[`{name}`](#{anchor(f'{doc.path} {name}')})" for name in doc.subcommands
        )
        parts.append(f"Commands: {links}.")
    if doc.params:
        rows = [(code(signature), cell(help_)) for signature, help_ in doc.params]
        parts.append(table(("Argument or option", "Description"), rows))
    return "\n\n".join(parts)


def render_cli_reference(root: Command, prog: str, intro: str = "") -> str:
    """One page for every command of ``root``, invoked as ``prog``; the root is the title."""
    first, *rest = walk_commands(root, prog)
    parts = [render_command(first, intro), *(render_command(doc) for doc in rest)]
    return "\n\n".join(parts) + "\n"
