"""``eval rag``'s shell: ask the gateway each golden question, score with `core.rag_eval`.

Questions go one at a time to ``POST /v1/rag/query`` with temperature 0, in an order shuffled
by the seed (so a fixed seed gives the same run), and the report is written as
``rag-eval.json`` in the output folder.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx

from llmops_contracts.evaluation import GoldenSet, RagEvalReport, RagItemResult, RagThresholds
from llmops_loadtest.core.rag_eval import (
    aggregate,
    check_thresholds,
    failed_item,
    score_item,
)
from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.inputs import load_yaml_model

REPORT_FILE = "rag-eval.json"


def load_golden_set(path: Path) -> tuple[GoldenSet, str]:
    """The golden set and the SHA-256 of its bytes."""
    return load_yaml_model(
        path, GoldenSet, "golden set",
        "see docs/evaluation.md for the format (version, items: id, question, answer, documents)",
    )  # fmt: skip


def load_thresholds(path: Path | None) -> RagThresholds:
    if path is None:
        return RagThresholds()
    gate, _ = load_yaml_model(
        path, RagThresholds, "thresholds file",
        "give a YAML mapping of hit_rate_min, recall_at_k_min, mrr_min, token_f1_min, "
        "error_ratio_max, latency_p95_seconds_max",
    )  # fmt: skip
    return gate


def _ask(
    client: httpx.Client, model: str, question: str, top_k: int, max_tokens: int
) -> tuple[list[str], str]:
    body = {
        "model": model,
        "query": question,
        "top_k": top_k,
        "temperature": 0,
        "max_tokens": max_tokens,
    }
    response = client.post("/v1/rag/query", json=body)
    if response.status_code != 200:
        raise ValueError(f"HTTP {response.status_code}: {response.text[:200]}")
    data = response.json()
    citations = data.get("citations") or []
    cited = [str(c.get("document", "")) for c in citations if isinstance(c, dict)]
    return cited, str(data.get("answer", ""))


def run_rag_eval(
    target: str,
    golden: GoldenSet,
    sha256: str,
    *,
    model: str = "rag",
    top_k: int = 4,
    seed: int = 0,
    max_tokens: int = 32,
    thresholds: RagThresholds | None = None,
    timeout_seconds: float = 120.0,
    headers: dict[str, str] | None = None,
) -> RagEvalReport:
    """``headers`` go with every request (a rollout's gate pins the candidate with the
    gateway's ``x-llmops-revision``)."""
    items = list(golden.items)
    random.Random(seed).shuffle(items)  # noqa: S311 -- a reproducible order, not a secret
    results: list[RagItemResult] = []
    with httpx.Client(
        base_url=target.rstrip("/"), timeout=timeout_seconds, headers=headers or {}
    ) as client:
        for item in items:
            started = time.perf_counter()
            try:
                cited, answer = _ask(client, model, item.question, top_k, max_tokens)
            except httpx.ConnectError as err:
                raise LoadtestError(
                    f"target {target}", f"is unreachable ({err})", "start the gateway first"
                ) from err
            except (httpx.HTTPError, ValueError) as err:
                results.append(failed_item(item, str(err), time.perf_counter() - started))
                continue
            results.append(score_item(item, cited, answer, time.perf_counter() - started, top_k))
    results.sort(key=lambda r: r.id)
    metrics = aggregate(results)
    checks = check_thresholds(metrics, thresholds or RagThresholds())
    return RagEvalReport(
        target=target,
        model=model,
        top_k=top_k,
        seed=seed,
        dataset_version=golden.version,
        dataset_sha256=sha256,
        metrics=metrics,
        checks=checks,
        passed=all(c.passed for c in checks),
        results=results,
    )


def write_report(report: RagEvalReport, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_FILE
    path.write_text(report.model_dump_json(indent=2) + "\n")
    return path
