"""The drift metrics as accounting moves them, on the gateway's real metric objects: prompt
length only from reported usage, the best hit before ``min_score``, answers by outcome."""

from __future__ import annotations

from opentelemetry import context, trace

from llmops_contracts.routing import RagSettings
from llmops_gateway.clients.metrics import GatewayMetrics
from llmops_gateway.services.accounting import Accounting, ResponseLog
from llmops_gateway.services.context import Call
from llmops_gateway.services.governance import Caller, Governance

LABELS = {"route": "rag", "model": "ask", "revision": "canary"}


def setup() -> tuple[Accounting, Call]:
    metrics = GatewayMetrics()
    accounting = Accounting(
        metrics, trace.NoOpTracer(), Governance(records=None), ResponseLog(size=10)
    )
    call = Call("rag", "ask", Caller("k", "t"), {}, context.Context(), revision="canary")
    return accounting, call


def sample(accounting: Accounting, name: str, **labels: str) -> float | None:
    return accounting.metrics.registry.get_sample_value(name, {**LABELS, **labels})


def test_should_observe_prompt_length_only_when_the_backend_reported_usage() -> None:
    accounting, call = setup()

    accounting.usage(call, trace.INVALID_SPAN, {"prompt_tokens": 120, "completion_tokens": 3})
    accounting.usage(call, trace.INVALID_SPAN, None)  # no usage: not a 0-token prompt

    assert sample(accounting, "llmops_gateway_prompt_length_tokens_count") == 1
    assert sample(accounting, "llmops_gateway_prompt_length_tokens_sum") == 120
    assert sample(accounting, "llmops_gateway_prompt_length_tokens_bucket", le="128.0") == 1


def test_should_observe_the_best_hit_of_a_search_and_nothing_without_hits() -> None:
    accounting, call = setup()
    rag = RagSettings(collection="docs", embedder="emb", min_score=0.9)

    accounting.retrieved(call, rag, [0.42, 0.81, 0.5])  # all under min_score: still observed
    accounting.retrieved(call, rag, [])

    assert sample(accounting, "llmops_gateway_retrieval_top_score_count", collection="docs") == 1
    assert sample(accounting, "llmops_gateway_retrieval_top_score_sum", collection="docs") == 0.81


def test_should_count_answers_by_outcome() -> None:
    accounting, call = setup()

    accounting.answered(call, "Backups run at 02:00.")
    accounting.answered(call, "I don't know.")
    accounting.answered(call, "")
    accounting.answered(call, "", refused=True)

    counts = {
        outcome: sample(accounting, "llmops_gateway_answers_total", outcome=outcome)
        for outcome in ("answered", "empty", "refusal")
    }
    assert counts == {"answered": 1, "empty": 1, "refusal": 2}
