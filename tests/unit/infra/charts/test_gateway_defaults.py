"""charts/rag-gateway: the chart's defaults are the gateway's defaults.

Every ``LLMOPS_GATEWAY_*`` variable the chart's ConfigMap fills straight from a value
(``{{ .Values.x.y | quote }}``) must default to the `GatewaySettings` field's default, so an
install without values behaves as the gateway does without environment (before, the
first-token timeout was 60 s in the settings and 120 s in the chart). The variables the chart
derives instead (mount paths, release Service URLs, the pod's listening address) are listed
below with why; a new variable must be one or the other, never silently neither.
"""

from __future__ import annotations

import re
from functools import reduce
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter

from llmops_gateway.settings import GatewaySettings
from llmops_infra.charts import CHARTS_DIR

CHART = Path(CHARTS_DIR) / "rag-gateway"
PREFIX = "LLMOPS_GATEWAY_"
_VARIABLE = re.compile(rf"^\s*{PREFIX}(?P<name>[A-Z0-9_]+):\s*(?P<value>.+?)\s*$")
_STRAIGHT = re.compile(r"^\{\{\s*\.Values\.(?P<path>[A-Za-z0-9_.]+)\s*\|\s*quote\s*\}\}$")

DERIVED = {
    "host": "0.0.0.0 in a pod (probes and the Service use the pod IP); 127.0.0.1 on laptops",
    "routing_table": "where the chart mounts the routing-table ConfigMap",
    "generate_url": "the release's llm-inference Service unless inference.url is set",
    "embed_url": "inference's URL unless embedding.url is set",
    "milvus_uri": "the release's milvus Service, or milvus.host and milvus.port",
    "keys_file": "where the chart mounts the API-keys Secret",
    "otlp_endpoint": "empty unless global.tracing.enabled; then its otlpEndpoint, or the "
    "release's collector",
}


def _chart_variables() -> dict[str, str]:
    """Setting name -> the template expression the ConfigMap gives it."""
    text = (CHART / "templates" / "configmap.yaml").read_text()
    found = {}
    for line in text.splitlines():
        match = _VARIABLE.match(line)
        if match:
            found[match["name"].lower()] = match["value"]
    return found


def _straight_values() -> dict[str, str]:
    """Setting name -> the values path it is filled from, for the straight ones."""
    return {
        name: match["path"]
        for name, expression in _chart_variables().items()
        if (match := _STRAIGHT.match(expression))
    }


def _value(path: str) -> Any:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    return reduce(lambda node, key: node[key], path.split("."), values)


def test_should_read_every_variable_the_chart_sets() -> None:
    variables = _chart_variables()

    # The parser sees them all (a ConfigMap rewritten into another form would hide them).
    assert {"port", "first_token_timeout_s", "generate_model", "milvus_uri"} <= set(variables)
    assert set(variables) <= set(GatewaySettings.model_fields)


def test_should_fill_each_variable_from_a_value_or_say_why_not() -> None:
    variables = set(_chart_variables())

    assert variables - set(_straight_values()) == set(DERIVED)


@pytest.mark.parametrize(("setting", "path"), sorted(_straight_values().items()))
def test_should_default_each_value_to_the_settings_default(setting: str, path: str) -> None:
    field = GatewaySettings.model_fields[setting]
    chart_default = TypeAdapter(field.annotation).validate_python(_value(path))

    assert chart_default == field.default, (
        f"values.yaml {path} = {_value(path)!r}, but GatewaySettings.{setting} defaults to "
        f"{field.default!r}: make them one default"
    )


def test_should_wait_long_enough_for_a_first_token_from_a_cpu_engine() -> None:
    # A CPU engine with a long RAG prompt and a queue takes tens of seconds to its first
    # token: one default, 120 s, in the settings and the chart.
    assert GatewaySettings.model_fields["first_token_timeout_s"].default == 120.0
    assert _value("inference.timeoutSeconds") == 120
