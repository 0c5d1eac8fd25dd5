"""`llmops guardrails train | eval`: fit the learned injection head on the training probe set,
and print the caught and false-positive rates of rules + head on the held-out set (which
nothing fits or tunes on), with the detector's latency."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Annotated

import anyio
import httpx
import typer
from rich.console import Console

from llmops_gateway.clients.injection_detector import (
    DATA,
    HEAD_FILE,
    InjectionDetector,
    load_head,
    read_probes_text,
)
from llmops_gateway.domain.guardrails import find_injection
from llmops_gateway.domain.injection_head import (
    LinearHead,
    Probe,
    evaluate,
    fit_head,
    parse_probes,
    split_sentences,
)
from llmops_gateway.settings import GatewaySettings
from llmops_infra.errors import LlmopsError

app = typer.Typer(help="The gateway's guardrails: the learned injection detector.")
console = Console()
TRAIN = "injection_train.jsonl"
HELDOUT = "injection_heldout.jsonl"
EmbedUrl = Annotated[
    str | None, typer.Option(help="Embeddings endpoint (default: the gateway's embed_url).")
]


def _embed_url(url: str | None) -> str:
    return url or GatewaySettings().embed_url


def _examples(
    probes: list[Probe],
    rows: list[int],
    text_vec: list[list[float]],
    sent_vec: list[list[list[float]]],
) -> tuple[list[list[float]], list[int]]:
    """Whole texts with their labels, plus every sentence of a benign text as benign (the
    look-alike sentences a document is scored by)."""
    vectors, labels = [], []
    for row in rows:
        vectors.append(text_vec[row])
        labels.append(probes[row].label)
        if probes[row].label == 0:
            vectors.extend(sent_vec[row])
            labels.extend([0] * len(sent_vec[row]))
    return vectors, labels


@app.command()
def train(  # noqa: PLR0917 (typer options)
    embed_url: EmbedUrl = None,
    out: Annotated[Path | None, typer.Option(help="Head file to write.")] = None,
    folds: Annotated[int, typer.Option(help="Cross-validation folds on the training set.")] = 5,
    epochs: Annotated[int, typer.Option(help="Gradient-descent epochs.")] = 400,
    learning_rate: Annotated[float, typer.Option(help="Gradient-descent step.")] = 0.5,
    threshold: Annotated[float, typer.Option(help="Head probability that flags.")] = 0.5,
) -> None:
    """Fit the head on the training probe set only, after printing its k-fold
    cross-validated rates (the only numbers hyperparameters may be chosen by)."""
    settings = GatewaySettings()
    probes = parse_probes(read_probes_text(TRAIN))
    target = out or Path(str(DATA / HEAD_FILE))
    sentences = [split_sentences(probe.text) for probe in probes]

    async def vectors() -> tuple[list[list[float]], list[list[float]]]:
        async with httpx.AsyncClient(timeout=60) as client:
            head = LinearHead(settings.embed_model, (), 0.0, 0.5)
            detector = InjectionDetector(head, _embed_url(embed_url), client)
            flat = [s for group in sentences for s in group]
            return (
                await detector.embed([probe.text for probe in probes]),
                await detector.embed(flat),
            )

    try:
        text_vec, flat_vec = anyio.run(vectors)
    except httpx.HTTPError as err:
        raise LlmopsError("guardrails train", f"embedder unreachable ({err})") from err
    sent_vec, at = [], 0
    for group in sentences:
        sent_vec.append(flat_vec[at : at + len(group)])
        at += len(group)

    flagged: dict[int, bool] = {}
    for fold in range(folds):
        held = [row for row in range(len(probes)) if row % folds == fold]
        fit_rows = [row for row in range(len(probes)) if row % folds != fold]
        fold_head = fit_head(
            *_examples(probes, fit_rows, text_vec, sent_vec),
            settings.embed_model,
            epochs=epochs,
            learning_rate=learning_rate,
            threshold=threshold,
        )
        for row in held:
            best = max(fold_head.probability(v) for v in sent_vec[row])
            flagged[row] = best >= fold_head.threshold or bool(find_injection(probes[row].text))
    cv = evaluate(probes, lambda p: flagged[probes.index(p)])
    console.print(
        f"{folds}-fold CV on training, rules+head: caught {cv.caught:.1%}, "
        f"false positives {cv.false_positive:.1%}"
    )
    head = fit_head(
        *_examples(probes, list(range(len(probes))), text_vec, sent_vec),
        settings.embed_model,
        epochs=epochs,
        learning_rate=learning_rate,
        threshold=threshold,
    )
    target.write_text(json.dumps(head.to_json()) + "\n")
    console.print(f"wrote {target} ({len(head.weights)} weights, {len(probes)} training texts)")


@app.command("eval")
def eval_(
    embed_url: EmbedUrl = None,
    probes_file: Annotated[
        Path | None, typer.Option("--probes", help="JSONL probe set (default: held-out).")
    ] = None,
) -> None:
    """Caught rate and false-positive rate of rules alone and rules + head, with latency."""
    lines = probes_file.read_text().splitlines() if probes_file else read_probes_text(HELDOUT)
    probes = parse_probes(lines)
    head = load_head()
    latencies: list[float] = []

    async def scores() -> dict[str, bool]:
        async with httpx.AsyncClient(timeout=60) as client:
            detector = InjectionDetector(head, _embed_url(embed_url), client)
            await detector.score("warm up the connection.")
            flagged = {}
            for probe in probes:
                flagged[probe.text] = await detector.flags(probe.text)
                latencies.append(detector.last_seconds)
            return flagged

    try:
        learned = anyio.run(scores)
    except httpx.HTTPError as err:
        raise LlmopsError("guardrails eval", f"embedder unreachable ({err})") from err

    def rules(probe: Probe) -> bool:
        return bool(find_injection(probe.text))

    for name, rates in (
        ("rules", evaluate(probes, rules)),
        ("rules+head", evaluate(probes, lambda p: rules(p) or learned[p.text])),
    ):
        console.print(
            f"{name:<11} caught {rates.caught:6.1%} of {rates.attacks} attacks "
            f"(prompt {rates.caught_prompt:.1%}, document {rates.caught_document:.1%}); "
            f"false positives {rates.false_positive:.1%} of {rates.benign} benign"
        )
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    sentences = statistics.mean(len(split_sentences(p.text)) for p in probes)
    console.print(
        f"head latency per text: p50 {statistics.median(ordered) * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms ({sentences:.1f} sentences per text, one embeddings call)"
    )
