"""The drift gate on a real Prometheus: the operator's own queries (the built-in ``drift`` and
``feedback-score`` signals, the same definitions as the recording rules) over the gateway's
own metric objects, which a test thread feeds.

Aliases: ``drifted`` (the canary's prompts twice as long as the stable's, 5 of 10 ratings up
against 9), ``same`` (canary = stable) and ``thin`` (the canary sees a prompt every few seconds,
under the drift's sample floor). The gate's window is shortened to seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from prometheus_client import start_http_server

from llmops_gateway.clients.metrics import GatewayMetrics
from llmops_operator.clients.prometheus import measure, query_scalar
from llmops_operator.core.rollout.measurements import QueryTarget, build_queries
from llmops_operator.core.spec.schema import AnalysisSpec
from llmops_operator.core.state.status import MeasurementResult
from tests.integration.prometheus import free_port, running_prometheus

WINDOW_S = 10
GATE = AnalysisSpec.model_validate(
    {
        "interval": "1m",
        "count": 1,
        "metrics": [
            {"name": "drift", "signal": "drift", "max": 0.25},
            {"name": "feedback", "signal": "feedback-score", "min": 0.7},
        ],
    }
)


@pytest.fixture(scope="module")
def prometheus_with_drift(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    metrics = GatewayMetrics()
    port = free_port()
    server, _ = start_http_server(port, addr="127.0.0.1", registry=metrics.registry)
    stop = threading.Event()

    def serve(alias: str, role: str, tokens: int, up: bool) -> None:
        metrics.prompt_length.labels("chat", alias, role).observe(tokens)
        metrics.answers.labels("chat", alias, role, "answered").inc()
        metrics.feedback.labels(alias, role, "up" if up else "down").inc()

    def feed() -> None:
        tick = 0
        while not stop.is_set():
            for n in range(10):
                serve("drifted", "stable", 100, up=n < 9)
                serve("drifted", "canary", 200, up=n < 5)
                serve("same", "stable", 100, up=n < 9)
                serve("same", "canary", 100, up=n < 9)
                serve("thin", "stable", 100, up=True)
            if tick % 40 == 0:  # one every 4 s
                serve("thin", "canary", 100, up=True)
            tick += 1
            stop.wait(0.1)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        with running_prometheus(
            tmp_path_factory.mktemp("prometheus"), {"gateway": f"127.0.0.1:{port}"}
        ) as url:
            time.sleep(WINDOW_S + 3)  # a window's worth of samples
            yield url
    finally:
        stop.set()
        server.shutdown()


def measure_alias(url: str, alias: str) -> dict[str, tuple[MeasurementResult, str]]:
    target = QueryTarget(alias, "canary", "llm", f"{alias}-c", f"{alias}-s")
    return {
        m.metric: (m.result, m.message)
        for m in measure(url, build_queries(GATE, target, WINDOW_S), timeout_s=5)
    }


def test_should_fail_a_canary_whose_prompts_and_ratings_moved_from_the_stable(
    prometheus_with_drift: str,
) -> None:
    verdicts = measure_alias(prometheus_with_drift, "drifted")

    result, message = verdicts["drift"]
    assert result is MeasurementResult.FAILED, message
    assert message.startswith("1 > max 0.25"), message  # prompt length: |200 - 100| / 100
    result, message = verdicts["feedback"]
    assert result is MeasurementResult.FAILED and message.startswith("0.5 < min 0.7"), message


def test_should_pass_a_canary_that_looks_like_the_stable(prometheus_with_drift: str) -> None:
    verdicts = measure_alias(prometheus_with_drift, "same")

    result, message = verdicts["drift"]
    # no shift, up to the float rounding of Prometheus' rate windows (2.8e-16 seen)
    assert result is MeasurementResult.SUCCESSFUL, message
    assert message.endswith(" within bounds") and abs(float(message.split()[0])) < 1e-9, message
    assert verdicts["feedback"][0] is MeasurementResult.SUCCESSFUL, verdicts["feedback"]


def test_should_measure_each_signals_shift_on_its_own_scale(prometheus_with_drift: str) -> None:
    target = QueryTarget("drifted", "canary", "llm", "drifted-c", "drifted-s")
    gate = AnalysisSpec.model_validate(
        {
            "interval": "1m",
            "count": 1,
            "metrics": [
                {"name": key, "signal": f"{key}-drift", "max": 1}
                for key in ("prompt-length", "feedback-score", "unanswered-ratio")
            ],
        }
    )

    values = {
        q.metric: query_scalar(prometheus_with_drift, q.promql, 5)
        for q in build_queries(gate, target, WINDOW_S)
    }

    assert values["prompt-length"][0] == pytest.approx(1.0, abs=0.01), values  # relative
    assert values["feedback-score"][0] == pytest.approx(0.4, abs=0.01), values  # absolute
    assert values["unanswered-ratio"] == (0.0, ""), values  # no empty answer on either side


def test_should_call_drift_inconclusive_under_the_sample_floor(prometheus_with_drift: str) -> None:
    result, message = measure_alias(prometheus_with_drift, "thin")["drift"]

    assert result is MeasurementResult.INCONCLUSIVE, message
    assert "no data" in message
