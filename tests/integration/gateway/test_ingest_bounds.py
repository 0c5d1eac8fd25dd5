"""Large ingests are bounded, cancellable and resumable, and shutdown does not wait on them.

A slow *test* embedder (0.3 s per batch of 4 chunks) makes a document of 40 chunks take
about 3 s; the gateway's ingest limit is 1.5 s, its shutdown grace 2 s. Milvus Lite holds
the collection; a slow *test* generator (0.1 s per token) gives requests to drain.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from llmops import gateway as cli_gateway
from tests.integration.gateway.procs import Proc, backend, gateway, stats, upstream, write_table

CHUNK = 200  # characters per chunk (no overlap): 40 chunks below


def big_document(name: str, chunks: int = 40) -> dict[str, Any]:
    words = (f"{name} fact {i:04d} about log retention and disks. " for i in range(chunks * 4))
    return {"name": name, "text": "".join(words)}


def body(*documents: dict[str, Any]) -> dict[str, Any]:
    return {
        "collection": "big",
        "embedder": "emb",
        "documents": list(documents),
        "chunk_size": CHUNK,
        "chunk_overlap": 0,
    }


@dataclass
class Stack:
    gateway: Proc
    embedder: Proc


@contextmanager
def started(tmp_path: Path) -> Iterator[Stack]:
    with (
        upstream(tmp_path, "emb", embed_delay_ms=300) as emb,
        upstream(tmp_path, "gen", token_delay_ms=100) as gen,
    ):
        table = write_table(
            tmp_path / "routing.json",
            {
                "emb": {"kind": "embeddings", "backends": [backend("emb", emb.url)]},
                "gen": {"backends": [backend("gen", gen.url)]},
            },
        )
        with gateway(
            tmp_path,
            routing_table=table,
            milvus_uri=tmp_path / "rag.db",
            ingest_batch_size=4,
            ingest_timeout_s=1.5,
            shutdown_grace_s=2,
        ) as proc:
            yield Stack(proc, emb)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with started(tmp_path_factory.mktemp("ingest-bounds")) as running:
        yield running


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    """A gateway of its own (the shutdown test stops it)."""
    with started(tmp_path) as running:
        yield running


def ingest(stack: Stack, payload: dict[str, Any], timeout: float = 60) -> httpx.Response:
    return httpx.post(stack.gateway.url + "/v1/ingest", json=payload, timeout=timeout)


def test_should_stop_at_the_stated_limit_and_resume_when_sent_again(stack: Stack) -> None:
    payload = body(big_document("a.md"))
    before = stats(stack.embedder)["embedded_texts"]

    begun = time.monotonic()
    first = ingest(stack, payload)
    took_s = time.monotonic() - begun
    embedded_first = stats(stack.embedder)["embedded_texts"] - before

    assert first.status_code == 504, first.text
    error = first.json()["error"]
    assert error["code"] == "ingest_timeout"
    assert "limit of 1.5 s" in error["message"]
    assert "Send the same request again" in error["message"]
    assert took_s < 3, took_s
    assert 0 < embedded_first < 40

    # Re-sent until done: each round embeds only what is missing. What can be embedded twice
    # is at most the one batch in flight when a round hit the limit (4 chunks a round).
    rounds = 1
    while (again := ingest(stack, payload)).status_code == 504:
        rounds += 1
        assert rounds < 6, again.text
    assert again.status_code == 200, again.text
    report = again.json()
    assert report["collection_chunks"] == 40
    assert 40 <= stats(stack.embedder)["embedded_texts"] - before <= 40 + 4 * rounds
    assert report["documents"][0]["upserted"] < 40  # only the rest, in the last round

    unchanged = ingest(stack, payload).json()
    assert unchanged["documents"][0]["status"] == "unchanged"


def test_should_cancel_an_ingest_when_its_client_leaves(stack: Stack) -> None:
    before = stats(stack.embedder)["embedded_texts"]
    with pytest.raises(httpx.ReadTimeout):
        ingest(stack, body(big_document("b.md")), timeout=0.7)
    time.sleep(0.5)  # the batch in flight when the client left may still land
    after_leaving = stats(stack.embedder)["embedded_texts"]
    time.sleep(1.5)

    # Nothing more was embedded once the client had gone (before: minutes of work went on).
    assert stats(stack.embedder)["embedded_texts"] == after_leaving
    assert after_leaving - before < 40
    metrics = httpx.get(stack.gateway.url + "/metrics").text
    assert 'route="ingest",type="client_disconnected"} 1.0' in metrics


def test_should_drain_short_requests_and_exit_within_the_grace_on_sigterm(
    own_stack: Stack,
) -> None:
    stack = own_stack
    # In flight at SIGTERM: a 0.5 s answer (drained: it completes) and a 30 s one (cut at the
    # 2 s grace). Before, uvicorn waited without a limit on every connection.
    results: dict[str, Any] = {}

    def send(name: str, tokens: int) -> None:
        try:
            results[name] = httpx.post(
                stack.gateway.url + "/v1/completions",
                json={"model": "gen", "prompt": "x", "max_tokens": tokens},
                timeout=60,
            ).status_code
        except httpx.HTTPError as err:
            results[name] = type(err).__name__

    threads = [
        threading.Thread(target=send, args=("short", 5)),
        threading.Thread(target=send, args=("long", 300)),
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    stack.gateway.process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    stack.gateway.process.wait(timeout=15)
    exited_after_s = time.monotonic() - signalled
    for thread in threads:
        thread.join(timeout=10)

    assert exited_after_s < 2 + 2, exited_after_s
    assert results["short"] == 200, results
    assert results["long"] != 200, results


def test_should_resume_from_the_cli_until_a_large_file_is_in(stack: Stack, tmp_path: Path) -> None:
    # `llmops ingest` re-sends a request the gateway stopped at its limit (before: the CLI
    # waited 300 s, less than the gateway accepted, and then failed with nothing said).
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "big.md").write_text(big_document("big.md", chunks=60)["text"])
    cli = typer.Typer()
    cli.command()(cli_gateway.ingest)
    args = [str(folder), "--collection", "cli_big", "--embedder", "emb"]
    args += ["--gateway", stack.gateway.url]

    result = CliRunner().invoke(cli, args)

    assert result.exit_code == 0, result.output
    assert "resuming" in result.output
    assert "added" in result.output or "updated" in result.output
    count = httpx.post(
        stack.gateway.url + "/v1/ingest",
        json={"collection": "cli_big", "embedder": "emb",
              "documents": [{"name": "big.md", "text": (folder / "big.md").read_text()}]},
        timeout=60,
    ).json()  # fmt: skip
    assert count["documents"][0]["status"] == "unchanged"
