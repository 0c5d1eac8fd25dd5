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
import yaml

from llmops_infra.engine import EngineHandle
from tests.integration.gateway.procs import Proc, gateway, write_table
from tests.integration.loadtest.conftest import run_cli

EXAMPLES = Path(__file__).parents[3] / "examples"
GOLDEN = EXAMPLES / "evals" / "rag-golden.yaml"
THRESHOLDS = EXAMPLES / "evals" / "rag-thresholds.yaml"
GEMMA = "gemma-3-270m"
MINILM = "all-minilm-l6-v2"
DECOY = "The cafeteria serves lunch from noon. Bicycles are parked in the basement."


def _backend(generate: str, collection: str, **extra: Any) -> dict[str, Any]:
    rag = {"collection": collection, "top_k": 2, "template": "rag-v1", "embedder": MINILM}
    backend = {"name": f"gemma-{collection}", "url": generate, "model": GEMMA}
    return {**backend, "chat": "completion", "rag": rag, **extra}


def _alias(generate: str, collection: str) -> dict[str, Any]:
    return {"backends": [_backend(generate, collection)]}


def _rollout(generate: str) -> dict[str, Any]:
    """A rollout's alias: the stable reads the decoy, the canary (weight 0) the handbook."""
    return {
        "backends": [
            _backend(generate, "decoy", name="rollout-stable", revision="stable", weight=100),
            _backend(generate, "handbook", name="rollout-canary", revision="canary", weight=0),
        ]
    }


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
            "rollout": _rollout(generate),
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


GATE_PROBES = """version: "t1"
templates:
  hire: "A hiring note. {subject} applied for the engineer job. Our assessment:"
attributes:
  age: [{group: "25", value: a 25-year-old}, {group: "65", value: a 65-year-old}]
"""


def _gate(stack: Proc, tmp: Path, out: Path) -> tuple[int, dict[str, Any], str]:
    """``eval gate`` as a rollout's evaluation step runs it: the canary pinned, the golden set
    and a probe set inlined, seed 7 (the plan the operator writes; see evaluation_plan)."""
    golden = yaml.safe_load(GOLDEN.read_text())
    golden["items"] = golden["items"][:4]
    plan = {
        "name": "ev-test-s1", "model": "rollout", "seed": 7,
        "headers": {"x-llmops-revision": "canary"},
        "rag": {"dataset": yaml.safe_dump(golden), "top_k": 2, "max_tokens": 6},
        "fairness": {"probes": GATE_PROBES, "max_tokens": 6},
    }  # fmt: skip
    gate = {"rag": yaml.safe_load(THRESHOLDS.read_text()), "fairness": {"sentiment_gap_max": 2}}
    profile, gate_file = tmp / "profile.yaml", tmp / "gate.yaml"
    profile.write_text(yaml.safe_dump(plan))
    gate_file.write_text(yaml.safe_dump(gate))
    result = run_cli(
        "eval", "gate", "--target", stack.url, "--profile", str(profile),
        "--gate", str(gate_file), "--out", str(out), timeout=420,
    )  # fmt: skip
    report = json.loads((out / "report.json").read_text()) if result.code in (0, 1) else {}
    return result.code, report, result.stdout + result.stderr


def test_should_pass_the_gate_on_the_pinned_canary_with_the_same_scores_for_the_same_seed(
    stack: Proc, tmp_path: Path
) -> None:
    code, first, output = _gate(stack, tmp_path, tmp_path / "a")
    assert code == 0, output
    rag = first["rag"]
    # The pin reached the canary: its collection (the handbook), not the stable's decoy.
    assert rag["metrics"]["items"] == 4 and rag["metrics"]["errors"] == 0
    assert rag["metrics"]["hit_rate"] >= 0.8, rag["results"]
    assert "cafeteria.md" not in {d for r in rag["results"] for d in r["retrieved"]}
    assert first["verdict"]["passed"] is True
    total = len(first["verdict"]["checks"])
    assert first["verdict"]["headline"] == f"PASS ({total}/{total} thresholds met)"
    assert "PASS" in output and (tmp_path / "a" / "summary.md").is_file()
    _, second, _ = _gate(stack, tmp_path, tmp_path / "b")
    # A fixed seed: the same answers, the same deterministic scores (latency aside).
    assert first["fairness"]["attributes"] == second["fairness"]["attributes"]
    assert first["fairness"]["answers"] == second["fairness"]["answers"]
    keys = ("hit_rate", "recall_at_k", "mrr", "token_f1")
    assert [rag["metrics"][k] for k in keys] == [second["rag"]["metrics"][k] for k in keys]


def test_should_have_each_answer_judged_by_a_real_model_or_say_why_not(
    stack: Proc, engine: EngineHandle, tmp_path: Path
) -> None:
    """`eval rag --judge-url`: Gemma 3 270M on vLLM is the judge (any OpenAI-compatible server
    is), through /completions (the local model has no chat template). A model this small is a
    noisy judge, so what is asserted is the contract: the prompt's version and hash in the
    report, and each answer either scored on 0-1 or its note quoting the judge's reply, which
    did come back."""
    golden = yaml.safe_load(GOLDEN.read_text())
    golden["items"] = golden["items"][:3]
    dataset = tmp_path / "golden.yaml"
    dataset.write_text(yaml.safe_dump(golden))
    out = tmp_path / "out"

    result = run_cli(
        "eval", "rag", "--target", stack.url, "--dataset", str(dataset), "--model", "good",
        "--top-k", "2", "--max-tokens", "6", "--judge-url", engine.url("generate"),
        "--judge-model", GEMMA, "--judge-api", "completion", "--out", str(out), timeout=420,
    )  # fmt: skip
    output = result.stdout + result.stderr
    report = json.loads((out / "rag-eval.json").read_text())

    assert result.code == 0, output
    assert report["judge"]["model"] == GEMMA
    assert report["judge"]["prompt_version"] == "rag-judge-v1"
    assert len(report["judge"]["prompt_sha256"]) == 64
    scored = [r for r in report["results"] if r["faithfulness"] is not None]
    for r in report["results"]:
        if r["faithfulness"] is None:
            assert r["correctness"] is None
            assert r["judge_note"].startswith("no scores in the reply: "), r["judge_note"]
        else:
            assert 0 <= r["faithfulness"] <= 1 and 0 <= r["correctness"] <= 1
    assert report["metrics"]["judged"] == len(scored)
    assert f"judge {GEMMA} (rag-judge-v1, sha256 " in output
    assert f"{len(scored)}/3 answers judged" in output
