"""Splitting documents into overlapping chunks, and the content-hash keys of chunks (pure).

Idempotence contract: a chunk's key is a hash of its document name and its text, so
re-ingesting an unchanged document, or retrying a batch, writes the same keys again
(an upsert, never a duplicate); the ingestion service deletes the keys of a document that
are no longer produced, so an edited document never keeps stale chunks either.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Where a chunk prefers to end, best first: a paragraph, a line, a sentence, a word.
_BOUNDARIES = ("\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ")


@dataclass(frozen=True)
class Chunk:
    """One piece of a document: its position, text and content-hash key."""

    document: str
    index: int
    text: str
    start: int  # character offset in the document's text

    @property
    def key(self) -> str:
        return chunk_key(self.document, self.text)


def chunk_key(document: str, text: str) -> str:
    """The primary key of a chunk in the vector store (32 hex characters)."""
    return hashlib.sha256(f"{document}\x00{text}".encode()).hexdigest()[:32]


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def split_text(text: str, *, size: int = 800, overlap: int = 120) -> list[tuple[int, str]]:
    """(offset, piece) pairs of at most ``size`` characters; consecutive pieces overlap by
    about ``overlap`` characters so a fact cut at a boundary is whole in one of them.

    A piece ends at the best natural boundary in its second half, so pieces rarely cut a
    word or a sentence. Whitespace-only pieces are dropped.
    """
    if size <= 0:
        raise ValueError("size must be positive")
    if not 0 <= overlap < size:
        raise ValueError("overlap must be at least 0 and smaller than size")
    pieces: list[tuple[int, str]] = []
    start = 0
    length = len(text)
    while start < length:
        end = min(start + size, length)
        if end < length:
            end = _best_cut(text, start, end)
        piece = text[start:end]
        if piece.strip():
            pieces.append((start, piece.strip()))
        if end >= length:
            break
        # Step back by the overlap, then forward to a word start so no piece opens mid-word.
        next_start = max(end - overlap, start + 1)
        space = text.find(" ", next_start, end)
        start = space + 1 if overlap and space != -1 else next_start
    return pieces


def _best_cut(text: str, start: int, end: int) -> int:
    floor = start + (end - start) // 2
    for boundary in _BOUNDARIES:
        at = text.rfind(boundary, floor, end)
        if at != -1:
            return at + len(boundary)
    return end


def chunk_document(document: str, text: str, *, size: int = 800, overlap: int = 120) -> list[Chunk]:
    """The chunks of one document, numbered from 0; duplicate texts are kept once."""
    seen: set[str] = set()
    chunks: list[Chunk] = []
    for start, piece in split_text(text, size=size, overlap=overlap):
        if piece in seen:
            continue
        seen.add(piece)
        chunks.append(Chunk(document=document, index=len(chunks), text=piece, start=start))
    return chunks
