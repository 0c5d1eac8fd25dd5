"""``eval rag``'s shell: ask the gateway each golden question, score with `core.rag_eval`.

Questions go one at a time to ``POST /v1/rag/query`` with temperature 0, in an order shuffled
by the seed (so a fixed seed gives the same run), and the report is written as
``rag-eval.json`` in the output folder.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from llmops_contracts.evaluation import (
    GoldenItem,
    GoldenSet,
    JudgeInfo,
    RagEvalReport,
    RagItemResult,
    RagThresholds,
)
from llmops_loadtest.core import judge as judging
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


@dataclass(frozen=True)
class Judge:
    """An OpenAI-compatible endpoint (``url`` ends in ``/v1``) and the prompt it is given."""

    url: str
    model: str
    template: str = judging.PROMPT
    version: str = judging.PROMPT_VERSION
    max_tokens: int = 24
    # `chat` (/chat/completions) or `completion` (/completions, the prompt as text: for a
    # model whose tokenizer has no chat template, as a base model's often has not)
    api: str = "chat"

    def info(self) -> JudgeInfo:
        version, sha256 = judging.prompt_identity(self.template, self.version)
        return JudgeInfo(
            url=self.url, model=self.model, prompt_version=version, prompt_sha256=sha256
        )


def load_judge_prompt(path: Path) -> tuple[str, str]:
    """A judge prompt file's text and its version (the file's name without suffix)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise LoadtestError(
            f"judge prompt {path}",
            f"cannot be read ({err})",
            "give a text file with the placeholders of the built-in prompt",
        ) from err
    try:
        judging.prompt_identity(text, path.stem)
    except ValueError as err:
        raise LoadtestError(
            f"judge prompt {path}", str(err), f"use {', '.join(judging.PLACEHOLDERS)} in it"
        ) from err
    return text, path.stem


def _judged(
    client: httpx.Client, judge: Judge, item: GoldenItem, passages: list[str], result: RagItemResult
) -> RagItemResult:
    """``result`` with the judge's scores, or with why it has none."""
    prompt = judging.render_prompt(
        judge.template,
        question=item.question,
        reference=item.answer,
        passages=passages,
        answer=result.answer,
    )
    body: dict[str, object] = {
        "model": judge.model,
        "temperature": 0,
        "max_tokens": judge.max_tokens,
    }
    if judge.api == "completion":
        body["prompt"], path = prompt, "/completions"
    else:
        body["messages"], path = [{"role": "user", "content": prompt}], "/chat/completions"
    try:
        response = client.post(f"{judge.url.rstrip('/')}{path}", json=body)
    except httpx.ConnectError as err:
        raise LoadtestError(
            f"judge {judge.url}",
            f"is unreachable ({err})",
            "start the judge's server, or leave --judge-url out",
        ) from err
    except httpx.HTTPError as err:
        return result.model_copy(update={"judge_note": f"{type(err).__name__}: {err}"})
    if response.status_code != 200:
        note = f"judge HTTP {response.status_code}: {response.text[:200]}"
        return result.model_copy(update={"judge_note": note})
    choice = response.json()["choices"][0]
    text = choice.get("text") if judge.api == "completion" else choice["message"].get("content")
    reply = str(text or "")
    judgement = judging.parse_judgement(reply)
    if judgement is None:
        return result.model_copy(update={"judge_note": f"no scores in the reply: {reply[:200]!r}"})
    return result.model_copy(
        update={"faithfulness": judgement.faithfulness, "correctness": judgement.correctness}
    )


def _ask(
    client: httpx.Client, model: str, question: str, top_k: int, max_tokens: int
) -> tuple[list[str], str, list[str]]:
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
    passages = [str(c.get("text", "")) for c in citations if isinstance(c, dict)]
    return cited, str(data.get("answer", "")), passages


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
    judge: Judge | None = None,
) -> RagEvalReport:
    """``headers`` go with every request (a rollout's gate pins the candidate with the
    gateway's ``x-llmops-revision``); with a ``judge``, each answer is also scored by it."""
    info = judge.info() if judge is not None else None
    items = list(golden.items)
    random.Random(seed).shuffle(items)  # noqa: S311 -- a reproducible order, not a secret
    results: list[RagItemResult] = []
    with (
        httpx.Client(
            base_url=target.rstrip("/"), timeout=timeout_seconds, headers=headers or {}
        ) as client,
        httpx.Client(timeout=timeout_seconds) as judge_client,
    ):
        for item in items:
            started = time.perf_counter()
            try:
                cited, answer, passages = _ask(client, model, item.question, top_k, max_tokens)
            except httpx.ConnectError as err:
                raise LoadtestError(
                    f"target {target}", f"is unreachable ({err})", "start the gateway first"
                ) from err
            except (httpx.HTTPError, ValueError) as err:
                results.append(failed_item(item, str(err), time.perf_counter() - started))
                continue
            scored = score_item(item, cited, answer, time.perf_counter() - started, top_k)
            if judge is not None:
                scored = _judged(judge_client, judge, item, passages, scored)
            results.append(scored)
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
        judge=info,
    )


def write_report(report: RagEvalReport, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_FILE
    path.write_text(report.model_dump_json(indent=2) + "\n")
    return path
