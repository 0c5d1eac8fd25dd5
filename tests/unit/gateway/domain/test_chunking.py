"""Chunking with overlap, and content-hash keys that make re-ingestion idempotent."""

from __future__ import annotations

import itertools

import pytest

from llmops_gateway.domain.chunking import chunk_document, chunk_key, split_text

TEXT = " ".join(
    f"Sentence {i} says that the retention of logs is {i} days for service {i % 7}."
    for i in range(200)
)


def test_should_keep_every_chunk_within_the_size() -> None:
    pieces = split_text(TEXT, size=300, overlap=60)

    assert len(pieces) > 10
    assert all(len(piece) <= 300 for _, piece in pieces)


def test_should_overlap_consecutive_chunks() -> None:
    pieces = split_text(TEXT, size=300, overlap=60)

    for (start_a, a), (start_b, _) in itertools.pairwise(pieces):
        assert start_b < start_a + len(a)  # the next piece starts inside this one


def test_should_cover_every_word_of_the_document() -> None:
    pieces = split_text(TEXT, size=250, overlap=40)

    covered = set(" ".join(piece for _, piece in pieces).split())
    assert covered == set(TEXT.split())


def test_should_prefer_to_end_chunks_at_sentence_boundaries() -> None:
    pieces = split_text(TEXT, size=300, overlap=0)

    assert sum(piece.endswith(".") for _, piece in pieces[:-1]) >= len(pieces) - 2


def test_should_give_the_same_keys_for_the_same_document() -> None:
    first = [chunk.key for chunk in chunk_document("a.md", TEXT, size=300, overlap=50)]
    again = [chunk.key for chunk in chunk_document("a.md", TEXT, size=300, overlap=50)]

    assert first == again
    assert len(set(first)) == len(first)


def test_should_key_chunks_by_document_and_text() -> None:
    assert chunk_key("a.md", "x") == chunk_key("a.md", "x")
    assert chunk_key("a.md", "x") != chunk_key("b.md", "x")
    assert len(chunk_key("a.md", "x")) == 32


def test_should_change_only_the_keys_of_the_edited_part() -> None:
    before = {c.key for c in chunk_document("a.md", TEXT, size=300, overlap=0)}
    edited = TEXT.replace("Sentence 150 says", "Sentence one-fifty says")
    after = {c.key for c in chunk_document("a.md", edited, size=300, overlap=0)}

    assert 0 < len(after - before) <= 2
    assert len(before & after) >= len(before) - 2


def test_should_drop_duplicate_and_blank_chunks() -> None:
    chunks = chunk_document("d", "same text\n\n\n\n" * 1, size=100, overlap=0)

    assert [c.text for c in chunks] == ["same text"]
    assert chunk_document("d", "   \n  ", size=100, overlap=0) == []


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (100, 100), (100, -1)])
def test_should_refuse_impossible_sizes(size: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        split_text("x", size=size, overlap=overlap)


def test_should_cut_a_text_without_boundaries_at_the_size() -> None:
    pieces = split_text("x" * 1000, size=300, overlap=0)

    assert [len(piece) for _, piece in pieces] == [300, 300, 300, 100]
