"""Small Markdown helpers shared by the reference renderers."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)


def escape(text: str) -> str:
    """``text`` safe as Markdown prose: ``<``, ``>`` and ``&`` outside code spans become
    entities (help texts say ``<release>``, which Markdown would take for an HTML tag)."""
    return _outside_code(text, _entities)


def cell(text: str) -> str:
    """``text`` as one table cell: escaped, on one line, pipes outside code spans quoted
    (Python-Markdown's tables leave a pipe inside a code span alone)."""
    quoted = _outside_code(text, lambda part: _entities(part).replace("|", "\\|"))
    return quoted.replace("\n", " ").strip()


def code(text: str) -> str:
    """``text`` as an inline code span."""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _outside_code(text: str, change: Callable[[str], str]) -> str:
    out: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(text):
        out += [change(text[last : match.start()]), match.group(0)]
        last = match.end()
    out.append(change(text[last:]))
    return "".join(out)


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def generated_notice(source: str) -> str:
    return (
        f'!!! info "Generated"\n    This page is generated from {source} each time the site '
        "is built (`make docs`); edit the source, not this page."
    )
