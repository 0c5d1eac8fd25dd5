"""``eval rag`` against the real stack: the gateway, vLLM on the CPU (Gemma 3 270M and the
MiniLM embedder) and Milvus Lite. The handbook corpus is ingested into one collection and a
decoy page into another; the good candidate answers from the handbook and passes the shipped
thresholds, the broken one (its retrieval pointed at the decoy collection) fails them on
retrieval. Answers are capped short: the engine makes ~9 tokens/s."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmops_infra.engine import EngineHandle
from tests.integration.gateway.procs import Proc, gateway, write_table
from tests.integration.loadtest.conftest import run_cli

EXAMPLES = Path(__file__).parents[3] / "examples"
GOLDEN = EXAMPLES / "evals" / "rag-golden.yaml"
THRESHOLDS = EXAMPLES / "evals" / "rag-thresholds.yaml"
GEMMA = "gemma-3-270m"
MINILM = "all-minilm-l6-v2"
DECOY = "The cafeteria serves lunch from noon. Bicycles are parked in the basement."


def _alias(generate: str, collection: str) -> dict[str, Any]:
    rag = {"collection": collection, "top_k": 2, "template": "rag-v1", "embedder": MINILM}
    backend = {"name": f"gemma-{collection}", "url": generate, "model": GEMMA}
    return {"backends": [{**backend, "chat": "completion", "rag": rag}]}


@pytest.fixture(scope="module")
def stack(engine: EngineHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    tmp = tmp_path_factory.mktemp("rag-eval")
    generate, embed = engine.url("generate"), engine.url("embed")
    table = write_table(
        tmp / "routing.json",
        {
            MINILM: {
                "kind": "embeddings",
                "backends": [{"name": "minilm", "url": embed, "model": MINILM}],
            },
            "good": _alias(generate, "handbook"),
            "broken": _alias(generate, "decoy"),
        },
    )
    with gateway(
        tmp, routing_table=table, milvus_uri=tmp / "rag.db", default_embedder=MINILM
    ) as proc:
        pages = [
            {"name": p.name, "text": p.read_text()}
            for p in sorted((EXAMPLES / "corpus").glob("*.md"))
            if p.name != "README.md"
        ]
        for collection, documents in (
            ("handbook", pages),
            ("decoy", [{"name": "cafeteria.md", "text": DECOY}]),
        ):
            response = httpx.post(
                proc.url + "/v1/ingest",
                json={"collection": collection, "documents": documents},
                timeout=120,
            )
            assert response.status_code == 200, response.text
        yield proc


def _eval(stack: Proc, model: str, out: Path) -> tuple[int, dict[str, Any], str]:
    result = run_cli(
        "eval", "rag", "--target", stack.url, "--dataset", str(GOLDEN),
        "--thresholds", str(THRESHOLDS), "--model", model, "--top-k", "2",
        "--max-tokens", "6", "--seed", "7", "--out", str(out), timeout=420,
    )  # fmt: skip
    report = json.loads((out / "rag-eval.json").read_text()) if result.code in (0, 1) else {}
    return result.code, report, result.stdout + result.stderr


def test_should_score_the_good_candidate_and_pass_the_shipped_thresholds(
    stack: Proc, tmp_path: Path
) -> None:
    code, report, output = _eval(stack, "good", tmp_path)
    metrics = report["metrics"]
    assert code == 0, output
    assert metrics["items"] == 10 and metrics["errors"] == 0
    assert metrics["hit_rate"] >= 0.8 and metrics["mrr"] >= 0.6
    assert 0 < metrics["token_f1"] <= 1
    assert metrics["latency_p95_seconds"] > 0
    assert report["seed"] == 7 and len(report["dataset_sha256"]) == 64
    assert report["dataset_version"] == "2026-12-07.1"


def test_should_fail_the_candidate_whose_retrieval_reads_the_wrong_collection(
    stack: Proc, tmp_path: Path
) -> None:
    code, report, output = _eval(stack, "broken", tmp_path)
    assert code == 1, output
    assert report["metrics"]["hit_rate"] == 0 and report["metrics"]["recall_at_k"] == 0
    failed = {c["metric"] for c in report["checks"] if not c["passed"]}
    assert {"hit_rate", "recall_at_k", "mrr"} <= failed
    assert "FAILED hit_rate" in output
