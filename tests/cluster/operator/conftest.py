"""Fixtures of the operator's cluster tests: the CRD, a real Prometheus, the operator.

Prometheus is the Debian ``prometheus`` binary, scraping every second a small metrics
endpoint this test session controls: gateway-shaped histograms and counters
(``llmops_gateway_*{model=<alias>,revision=<role>}``) fed by a background thread with the
latency each test asks for. The operator queries that Prometheus exactly as in production.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from llmops_infra.charts import CRD_PATH
from tests.cluster.kube import Kube

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class GatewayMetrics:
    """What the fake-free metrics endpoint reports: TTFT seconds per (alias, role)."""

    port: int
    ttft: dict[tuple[str, str], float] = field(default_factory=dict)


@pytest.fixture(scope="session")
def crd(kube: Kube) -> None:
    kube.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=llmops-operator-tests",
        "-f",
        str(CRD_PATH),
    )
    kube.wait_established("modeldeployments.llmops.dev")


@pytest.fixture(scope="session")
def gateway_metrics() -> Iterator[GatewayMetrics]:
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
    Counter("llmops_gateway_errors_total", "errors", [*labels, "type"], registry=registry)
    state = GatewayMetrics(port=free_port())
    server, _thread = start_http_server(state.port, addr="127.0.0.1", registry=registry)
    stop = threading.Event()

    def feed() -> None:
        while not stop.is_set():
            for (alias, role), seconds in list(state.ttft.items()):
                ttft.labels("chat", alias, role).observe(seconds)
                requests.labels("chat", alias, role, "200").inc()
            stop.wait(0.1)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    yield state
    stop.set()
    server.shutdown()


@pytest.fixture(scope="session")
def prometheus(
    gateway_metrics: GatewayMetrics, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail(
            "the operator's analysis tests need Prometheus: apt-get install -y "
            "prometheus (Debian 2.42+)",
            pytrace=False,
        )
    root = tmp_path_factory.mktemp("prometheus")
    config = root / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "gateway",
                        "static_configs": [{"targets": [f"127.0.0.1:{gateway_metrics.port}"]}],
                    }
                ],
            }
        )
    )
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(root / "log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"Prometheus did not get ready: {(root / 'log').read_text()[-500:]}")
    yield url
    process.terminate()
    process.wait(10)


@dataclass
class Operator:
    """The real operator as a process (`kopf run`), killable like a crashed pod."""

    namespace: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    # None: `kopf run` on the namespace; the image's way is [python, -m, llmops_operator].
    command: list[str] | None = None

    def start(self) -> None:
        kopf_run = [sys.executable, "-m", "kopf", "run", "--standalone", "-n", self.namespace]
        self.process = subprocess.Popen(
            self.command or [*kopf_run, "-m", "llmops_operator.main"],
            env=self.env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: no clean-up, exactly like a node loss or an OOM kill."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def operator_extra_env() -> dict[str, str]:
    """More ``LLMOPS_OPERATOR_*`` settings for the `operator` fixture (override per module)."""
    return {}


@pytest.fixture
def operator(  # noqa: PLR0917 -- every parameter is a fixture
    kube: Kube,
    crd: None,
    namespace: str,
    prometheus: str,
    tmp_path: Path,
    operator_extra_env: dict[str, str],
) -> Iterator[Operator]:
    env = {
        **os.environ,
        **kube.env,
        "KUBECONFIG": str(kube.kubeconfig),
        "LLMOPS_OPERATOR_PROMETHEUS_URL": prometheus,
        "LLMOPS_OPERATOR_PROMETHEUS_TIMEOUT_S": "2",
        "LLMOPS_OPERATOR_TICK_INTERVAL_S": "1",
        "LLMOPS_OPERATOR_SERVE_METRICS": "false",
        "LLMOPS_OPERATOR_REPORT_DIR": str(tmp_path / "reports"),
        **operator_extra_env,
    }
    handle = Operator(namespace, env, tmp_path / "operator.log")
    handle.start()
    yield handle
    handle.stop()


@pytest.fixture
def chart_operator_process(
    kube: Kube, crd: None, namespace: str, tmp_path: Path
) -> Iterator[Operator]:
    """The operator as its chart runs it (the chart's RBAC, a ServiceAccount token, the image's
    entry point), leader ``op-0``."""
    # chart_identity imports Operator from here, so it is imported when the fixture runs.
    from tests.cluster.operator.chart_identity import apply_chart_rbac, chart_operator  # noqa: PLC0415

    apply_chart_rbac(kube, namespace)
    handle = chart_operator(kube, namespace, tmp_path, "op-0")
    handle.start()
    yield handle
    handle.stop()


@pytest.fixture
def rbac(kube: Kube, crd: None, namespace: str) -> None:
    from tests.cluster.operator.chart_identity import apply_chart_rbac  # noqa: PLC0415

    apply_chart_rbac(kube, namespace)


@pytest.fixture
def operators(kube: Kube, rbac: None, namespace: str, tmp_path: Path) -> Iterator[list[Operator]]:
    """Operators a test starts itself; every one is stopped at the end."""
    started: list[Operator] = []
    yield started
    for op in started:
        op.stop()
