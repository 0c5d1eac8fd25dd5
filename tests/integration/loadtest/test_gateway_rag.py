"""The RAG users against the real gateway: uvicorn, a Milvus Lite file in tmp, and the
gateway's fast test upstream for generation and embeddings (bag-of-words vectors, not a model).

Documents go in through the ingestion user, then the query user asks about them; each report's
request counts must equal what the gateway's own ``/metrics`` counted, and an answer without
citations must be a failed sample (``no_citations``), not a success.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.gateway.procs import Proc, backend, gateway, upstream, write_table
from tests.integration.loadtest.conftest import CliResult, run_cli, write

COLLECTION = "loadtest_docs"
GATE = "slos: ['error_ratio <= 0', 'e2e_p95_s <= 5']\nmin_requests: 3\n"


@dataclass
class Gateway:
    proc: Proc
    tmp: Path

    def counted(self, route: str, code: str = "200") -> float:
        """``llmops_gateway_requests_total`` for one route and status, over every label set."""
        total = 0.0
        for line in httpx.get(self.proc.url + "/metrics", timeout=10).text.splitlines():
            if line.startswith("llmops_gateway_requests_total{") and (
                f'route="{route}"' in line and f'code="{code}"' in line
            ):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def run(
        self, name: str, api: str, model: str, extra_body: dict[str, Any], seed: int = 3
    ) -> CliResult:
        profile = write(
            self.tmp / f"{name}.yaml",
            f"name: {name}\napi: {api}\nmodel: {model}\n"
            "prompts: {kind: fixed, input_tokens: 24, output_tokens: 4}\n"
            "load: {shape: fixed_concurrency, users: 2, duration_s: 2}\n"
            f"extra_body: {json.dumps(extra_body)}\nseed: {seed}\n",
        )
        gate = write(self.tmp / "gate.yaml", GATE)
        out = self.tmp / name
        return run_cli(
            "run", "--target", self.proc.url, "-p", str(profile), "-g", str(gate), "-o", str(out)
        )

    def report(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.tmp / name / "report.json").read_text())
        return data


def _rag(min_score: float) -> dict[str, Any]:
    return {"collection": COLLECTION, "top_k": 2, "template": "rag-v1", "embedder": "emb",
            "min_score": min_score}  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("gateway-loadtest")
    with upstream(tmp, "up") as up:
        table = write_table(
            tmp / "routing.json",
            {
                "emb": {"kind": "embeddings", "backends": [backend("emb", up.url)]},
                "ask": {"backends": [backend("ask", up.url, rag=_rag(0.0))]},
                # retrieves, but no passage scores high enough: answers cite nothing
                "picky": {"backends": [backend("picky", up.url, rag=_rag(0.999))]},
            },
        )
        with gateway(
            tmp, routing_table=table, milvus_uri=tmp / "rag.db", default_embedder="emb"
        ) as proc:
            yield Gateway(proc, tmp)


@pytest.fixture(scope="module")
def ingested(stack: Gateway) -> dict[str, Any]:
    before = stack.counted("ingest")
    result = stack.run("ingest", "ingest", "emb", {"collection": COLLECTION})
    assert result.code == 0, result.stderr + result.stdout
    report = stack.report("ingest")
    report["gateway_counted"] = stack.counted("ingest") - before
    return report


def test_should_ingest_documents_and_count_exactly_what_the_gateway_counted(
    stack: Gateway, ingested: dict[str, Any]
) -> None:
    totals = ingested["totals_including_excluded_windows"]["target"]
    assert totals["requests"] == totals["successes"] == ingested["gateway_counted"] >= 3
    chunks = httpx.post(
        stack.proc.url + "/v1/ingest",
        json={"collection": COLLECTION, "documents": [{"name": "probe.txt", "text": "probe"}]},
        timeout=30,
    ).json()["collection_chunks"]
    assert chunks == totals["requests"] + 1  # one short document, one chunk per request


def test_should_answer_rag_queries_with_citations_and_match_the_gateway_counts(
    stack: Gateway, ingested: dict[str, Any]
) -> None:
    before = stack.counted("rag")
    result = stack.run("query", "rag_query", "ask", {"top_k": 2})
    counted = stack.counted("rag") - before
    assert result.code == 0, result.stderr + result.stdout
    report = stack.report("query")
    totals = report["totals_including_excluded_windows"]["target"]
    assert totals["requests"] == totals["successes"] == counted >= 3
    assert report["targets"]["target"]["errors"] == {}
    assert report["targets"]["target"]["tokens_from_usage"] is True
    assert totals["output_tokens"] == 4 * totals["requests"]  # max_tokens 4, honest usage


def test_should_fail_answers_without_citations_as_no_citations(
    stack: Gateway, ingested: dict[str, Any]
) -> None:
    before = stack.counted("rag")
    # another seed: questions that are not word for word one of the ingested documents
    result = stack.run("picky", "rag_query", "picky", {}, seed=4)
    assert result.code == 1, result.stderr + result.stdout
    assert result.stdout.startswith("FAIL: error_ratio <= 0 (observed 1)")
    report = stack.report("picky")
    totals = report["totals_including_excluded_windows"]["target"]
    assert stack.counted("rag") - before == totals["requests"] >= 3  # 200s, judged failed
    assert set(report["targets"]["target"]["errors"]) == {"no_citations"}
