"""Reading documents for ingestion: text, Markdown and PDF, from files or request bodies.

Shared by the ingestion endpoint (PDF bytes arrive base64-encoded) and the
``llmops ingest`` command (which walks a folder and sends what it finds).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from llmops_gateway.domain.errors import InvalidRequestError

MEDIA_TYPES = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".pdf": "application/pdf",
}


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest: its name in the collection (relative path) and where it is."""

    name: str
    path: Path
    media_type: str


def find_documents(root: Path) -> list[SourceFile]:
    """Supported files under ``root`` (or ``root`` itself), sorted, names relative to it."""
    if root.is_file():
        files = [root]
        base = root.parent
    else:
        files = sorted(path for path in root.rglob("*") if path.is_file())
        base = root
    found = []
    for path in files:
        media_type = MEDIA_TYPES.get(path.suffix.lower())
        if media_type is not None and not any(part.startswith(".") for part in path.parts):
            found.append(SourceFile(path.relative_to(base).as_posix(), path, media_type))
    return found


def pdf_text(data: bytes, name: str) -> str:
    """The text of a PDF's pages, separated by blank lines."""
    from pypdf import PdfReader  # noqa: PLC0415  (only ingestion needs it)
    from pypdf.errors import PdfReadError  # noqa: PLC0415

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError) as err:
        raise InvalidRequestError(f"{name}: not a readable PDF ({err})", param="documents") from err
    return "\n\n".join(page.strip() for page in pages if page.strip())
