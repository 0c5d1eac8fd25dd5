"""Small Markdown helpers shared by the reference renderers."""

from __future__ import annotations

import re
from collections.abc import Sequence

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)


def escape(text: str) -> str:
    """``text`` safe as Markdown prose: ``<`` and ``>`` outside code spans become entities.

    Help texts say ``<release>`` or ``NAME``; Markdown would read ``<release>`` as an HTML tag
    and drop it.
    """
    out: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_entities(text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_entities(text[last:]))
    return "".join(out)


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cell(text: str) -> str:
    """``text`` as one table cell: escaped, one line, pipes quoted."""
    return escape(text).replace("|", "\\|").replace("\n", " ").strip()


def code(text: str) -> str:
    """``text`` as an inline code span inside a table cell."""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    quoted = text.replace("|", "\\|")
    return f"{fence}{pad}{quoted}{pad}{fence}"


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
