"""The trace store's processes and build key: pure builders over plain data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llmops_infra.settings import LocalSettings
from llmops_infra.traces import TracePorts, build_process_specs, config_dir
from llmops_infra.traces.build import BINARIES, build_key

pytestmark = pytest.mark.unit

PORTS = TracePorts(41317, 41318, 42317, 42318, 46686, 46685)


def test_should_start_jaeger_before_the_collector_that_exports_to_it() -> None:
    jaeger, collector = build_process_specs(Path("/bin"), Path("/etc/otel"), PORTS)

    assert (jaeger.name, collector.name) == ("jaeger", "otelcol")
    assert jaeger.command == ("/bin/jaeger", "--config", "file:/etc/otel/jaeger.yaml")
    assert collector.command == ("/bin/otelcol", "--config", "file:/etc/otel/collector.yaml")
    assert dict(collector.env)["LLMOPS_JAEGER_OTLP_ENDPOINT"] == "127.0.0.1:42317"


def test_should_bind_every_port_to_loopback_through_the_configs_variables() -> None:
    jaeger, collector = build_process_specs(Path("/bin"), Path("/etc/otel"), PORTS)
    env = {**dict(jaeger.env), **dict(collector.env)}

    assert env["LLMOPS_JAEGER_HOST"] == env["LLMOPS_OTELCOL_HOST"] == "127.0.0.1"
    assert env["LLMOPS_JAEGER_QUERY_PORT"] == "46686"
    assert env["LLMOPS_OTELCOL_HTTP_PORT"] == "41318"
    assert (jaeger.ready_port, collector.ready_port) == (46686, 41318)


def test_should_read_every_variable_the_processes_set_in_the_shipped_configs() -> None:
    configs = config_dir(LocalSettings())
    for spec in build_process_specs(Path("/bin"), configs, PORTS):
        text = Path(spec.command[-1].removeprefix("file:")).read_text()
        yaml.safe_load(text)  # valid YAML
        for name, _ in spec.env:
            assert f"${{env:{name}" in text, f"{spec.name}: {name} is not read by its config"


def test_should_say_where_spans_go_in_and_where_traces_are_read() -> None:
    assert PORTS.otlp_http_traces_url == "http://127.0.0.1:41318/v1/traces"
    assert PORTS.otlp_grpc_url == "http://127.0.0.1:41317"
    assert PORTS.query_url == "http://127.0.0.1:46686"


def test_should_key_the_build_by_the_pinned_modules_and_the_go_version(tmp_path: Path) -> None:
    for module, _ in BINARIES.values():
        (tmp_path / module).mkdir()
        (tmp_path / module / "go.mod").write_text(f"module {module}\n")
    first = build_key(tmp_path, "go1.26.8")

    assert build_key(tmp_path, "go1.26.8") == first
    assert build_key(tmp_path, "go1.27.0") != first
    (tmp_path / "jaeger" / "go.sum").write_text("x v1 h1:y\n")
    assert build_key(tmp_path, "go1.26.8") != first


def test_should_pin_jaeger_and_every_collector_module_at_one_release() -> None:
    root = Path(__file__).parents[4] / "infra" / "otel"
    jaeger = (root / "jaeger" / "go.mod").read_text()
    collector = (root / "otelcol" / "go.mod").read_text()

    assert "github.com/jaegertracing/jaeger v1.75.0\n" in jaeger
    versions = {
        line.split()[1]
        for line in collector.splitlines()
        if line.strip().startswith("go.opentelemetry.io/collector/")
    }
    # a collector release is v0.N for the unstable modules and v1.M for the stable ones
    assert versions == {"v0.139.0", "v1.45.0"}
