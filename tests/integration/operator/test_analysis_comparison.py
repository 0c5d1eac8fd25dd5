"""Canary against stable on a real Prometheus: the analysis of examples/rollouts/
canary-compared.yaml (its TTFT comparison: maxRatio and Mann-Whitney), run by the operator's
own Prometheus client on gateway-shaped series that a test thread feeds.

Both revisions answer the same cycle of latencies; the slow canary answers each one twice as
slowly. The windows are shortened to seconds (the example's are minutes) so the test is fast.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from llmops_operator.clients.prometheus import measure
from llmops_operator.core.rollout.measurements import QueryTarget, build_queries
from llmops_operator.core.spec.schema import AnalysisSpec, parse_spec
from llmops_operator.core.state.status import MeasurementResult
from tests.integration.prometheus import free_port, running_prometheus

EXAMPLE = Path(__file__).parents[3] / "examples" / "rollouts" / "canary-compared.yaml"
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
LATENCIES = (0.12, 0.18, 0.2, 0.22, 0.3, 0.35, 0.4, 0.45)
WINDOW_S = 20


def example_gate() -> AnalysisSpec:
    spec = parse_spec(yaml.safe_load(EXAMPLE.read_text())["spec"])
    assert spec.strategy.canary is not None
    gate = next(s.analysis for s in spec.strategy.canary.steps if s.analysis is not None)
    metrics = tuple(
        m.model_copy(update={"mann_whitney": m.mann_whitney.model_copy(update={"interval": "2s"})})
        if m.mann_whitney is not None
        else m
        for m in gate.metrics
    )
    # Only the example's comparison metrics; its absolute maxErrorRate is not under test.
    return gate.model_copy(update={"metrics": metrics, "max_error_rate": None})


@pytest.fixture(scope="module")
def prometheus_with_two_canaries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Aliases ``slow`` (canary 2x the stable) and ``same`` (canary = stable)."""
    registry = CollectorRegistry()
    labels = ["route", "model", "revision"]
    ttft = Histogram(
        "llmops_gateway_time_to_first_token_seconds",
        "TTFT",
        labels,
        buckets=BUCKETS,
        registry=registry,
    )
    requests = Counter(
        "llmops_gateway_requests_total", "requests", [*labels, "code"], registry=registry
    )
    port = free_port()
    server, _ = start_http_server(port, addr="127.0.0.1", registry=registry)
    stop = threading.Event()

    def feed() -> None:
        while not stop.is_set():
            for seconds in LATENCIES:
                for alias, factor in (("slow", 2.0), ("same", 1.0)):
                    ttft.labels("chat", alias, "stable").observe(seconds)
                    ttft.labels("chat", alias, "canary").observe(seconds * factor)
                    requests.labels("chat", alias, "stable", "200").inc()
                    requests.labels("chat", alias, "canary", "200").inc()
            stop.wait(0.05)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    root = tmp_path_factory.mktemp("prometheus")
    try:
        with running_prometheus(root, {"gateway": f"127.0.0.1:{port}"}) as url:
            time.sleep(WINDOW_S + 3)  # a window's worth of samples on both sides
            yield url
    finally:
        stop.set()
        server.shutdown()


def measure_alias(url: str, alias: str) -> dict[str, tuple[MeasurementResult, str]]:
    target = QueryTarget(alias, "canary", "llm", f"{alias}-c", f"{alias}-s")
    queries = build_queries(example_gate(), target, WINDOW_S)
    return {m.metric: (m.result, m.message) for m in measure(url, queries, timeout_s=5)}


def test_should_fail_a_canary_twice_as_slow_as_the_stable(
    prometheus_with_two_canaries: str,
) -> None:
    result, message = measure_alias(prometheus_with_two_canaries, "slow")["ttft-vs-stable"]

    assert result is MeasurementResult.FAILED, message
    assert "> max 1.2" in message  # the ratio
    assert "shifted (increase)" in message  # and Mann-Whitney


def test_should_pass_a_canary_as_fast_as_the_stable(prometheus_with_two_canaries: str) -> None:
    result, message = measure_alias(prometheus_with_two_canaries, "same")["ttft-vs-stable"]

    assert result is MeasurementResult.SUCCESSFUL, message
    assert "within bounds" in message
    assert "no increase shown" in message
