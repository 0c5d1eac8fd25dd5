"""Where the operator's HTTP endpoints listen: ``bind_address`` (loopback unless told)."""

from __future__ import annotations

import pytest

from llmops_operator import metrics
from llmops_operator.run import build_kopf_args
from llmops_operator.settings import OperatorSettings


def liveness(settings: OperatorSettings) -> str:
    return next(a for a in build_kopf_args(settings) if a.startswith("--liveness="))


def test_should_listen_on_loopback_by_default() -> None:
    assert OperatorSettings().bind_address == "127.0.0.1"
    assert liveness(OperatorSettings()) == "--liveness=http://127.0.0.1:8080/healthz"


def test_should_put_an_ipv6_address_in_brackets_in_the_liveness_url() -> None:
    settings = OperatorSettings(bind_address="fd00::a", health_port=8081)

    assert liveness(settings) == "--liveness=http://[fd00::a]:8081/healthz"


def test_should_take_the_address_from_the_environment_and_refuse_a_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMOPS_OPERATOR_BIND_ADDRESS", "10.1.2.3")
    assert OperatorSettings().bind_address == "10.1.2.3"
    with pytest.raises(ValueError, match="'localhost' is not an IP address"):
        OperatorSettings(bind_address="localhost")


def test_should_serve_metrics_on_the_bind_address(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, str]] = []
    monkeypatch.setattr(metrics, "start_http_server", lambda port, addr: calls.append((port, addr)))

    metrics.serve_metrics(OperatorSettings(metrics_port=9191, bind_address="10.1.2.3"))

    assert calls == [(9191, "10.1.2.3")]
