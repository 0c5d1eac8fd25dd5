"""charts/rag-gateway (alone and in the umbrella): every LLMOPS_GATEWAY_* variable it sets is a
field of `GatewaySettings`, which silently ignores names it does not know, and the settings
they make are the ones intended: listening on every interface, the routing table where the
chart mounts it, the backends and Milvus of the release."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pytest
import yaml

from llmops_contracts.routing import RoutingTable, parse_routing_table
from llmops_gateway.domain.routing import build_default_table
from llmops_gateway.settings import GatewaySettings
from tests.integration.charts.render import Charts, find

PREFIX = "LLMOPS_GATEWAY_"
VALUE_SETS: dict[str, tuple[str, dict[str, Any]]] = {
    "rag-gateway-defaults": ("rag-gateway", {}),
    "rag-gateway-built-in-table": ("rag-gateway", {"routingTable": {"source": "builtIn"}}),
    "rag-gateway-api-keys": ("rag-gateway", {"auth": {"existingSecret": "keys"}}),
    "llmops-stack-defaults": ("llmops-stack", {}),
}


def _gateway(docs: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The gateway container and its pod spec."""
    pod = find(docs, "Deployment", "r-rag-gateway")["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == "gateway"), pod


def _gateway_env(docs: list[dict[str, Any]]) -> dict[str, str]:
    """Every variable the gateway container gets: its ConfigMaps (envFrom), then its env."""
    container, _ = _gateway(docs)
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert set(source) == {"configMapRef"}, f"unexpected env source {source}"
        env |= find(docs, "ConfigMap", source["configMapRef"]["name"])["data"]
    for variable in container.get("env", []):
        assert "value" in variable, f"{variable['name']}: only literal values are checked"
        env[variable["name"]] = variable["value"]
    return env


def _settings(docs: list[dict[str, Any]]) -> GatewaySettings:
    fields = {k.removeprefix(PREFIX).lower(): v for k, v in _gateway_env(docs).items()}
    return GatewaySettings.model_validate(fields)


def _mounted_file(pod: dict[str, Any], container: dict[str, Any], path: str) -> dict[str, Any]:
    """The volume that holds ``path`` through a directory mount (a subPath mount would never
    see the ConfigMap or Secret change)."""
    parent = str(PurePosixPath(path).parent)
    mounts = [m for m in container["volumeMounts"] if m["mountPath"] == parent]
    assert len(mounts) == 1, f"no single mount at {parent}: {container['volumeMounts']}"
    assert "subPath" not in mounts[0]
    assert mounts[0]["readOnly"] is True
    return next(v for v in pod["volumes"] if v["name"] == mounts[0]["name"])


def _seed(docs: list[dict[str, Any]], name: str = "llmops-routing") -> dict[str, Any]:
    return find(docs, "ConfigMap", name)


def _backends(table: RoutingTable) -> dict[str, tuple[str, list[tuple[str, str, str]]]]:
    """Alias -> kind and (url, model, chat) of each backend: a table without its labels."""
    return {
        alias: (route.kind, [(b.url, b.model, b.chat) for b in route.backends])
        for alias, route in table.routes.items()
    }


@pytest.mark.parametrize(("chart", "values"), VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_should_set_only_variables_that_are_gateway_settings(
    charts: Charts, chart: str, values: dict[str, Any]
) -> None:
    env = _gateway_env(charts.render(chart, values))
    fields = {name.removeprefix(PREFIX).lower() for name in env}

    assert all(name.startswith(PREFIX) for name in env)
    assert fields - set(GatewaySettings.model_fields) == set()
    assert {"host", "port", "milvus_uri", "first_token_timeout_s", "default_embedder"} <= fields


def test_should_listen_on_every_interface_and_read_the_operators_routing_table(
    charts: Charts,
) -> None:
    docs = charts.render("rag-gateway")
    settings = _settings(docs)
    container, pod = _gateway(docs)

    assert settings.host == "0.0.0.0"  # noqa: S104 - the pod IP, for probes and the Service
    assert settings.port == container["ports"][0]["containerPort"] == 8080
    assert settings.routing_table is not None
    assert settings.routing_table.as_posix() == "/etc/llmops/routing/routing.yaml"
    assert settings.routing_poll_interval_s == 1.0
    # Not optional: without its table the gateway would not start (see deployment.yaml).
    assert _mounted_file(pod, container, settings.routing_table.as_posix())["configMap"] == {
        "name": "llmops-routing"
    }
    assert settings.milvus_uri == "http://r-milvus:19530"
    assert settings.first_token_timeout_s == 120.0
    assert settings.keys_file is None


def test_should_mount_the_table_named_in_values_under_its_key(charts: Charts) -> None:
    values = {"routingTable": {"configMap": {"name": "team-routes", "key": "table.json"}}}
    docs = charts.render("rag-gateway", values)
    settings = _settings(docs)
    container, pod = _gateway(docs)

    assert settings.routing_table is not None
    assert settings.routing_table.name == "table.json"
    volume = _mounted_file(pod, container, settings.routing_table.as_posix())
    assert volume["configMap"]["name"] == "team-routes"
    assert "table.json" in _seed(docs, "team-routes")["data"]


def test_should_seed_the_routing_table_with_the_built_in_one_outside_the_release(
    charts: Charts,
) -> None:
    values = {
        "inference": {"url": "http://vllm.models:8000/v1", "defaultModel": "gemma"},
        "embedding": {"url": "http://embed.models:8000/v1", "model": "minilm"},
    }
    seed = _seed(charts.render("rag-gateway", values))
    table = parse_routing_table(yaml.safe_load(seed["data"]["routing.yaml"]))

    assert _backends(table) == _backends(
        build_default_table(
            "http://vllm.models:8000/v1", "gemma", "http://embed.models:8000/v1", "minilm"
        )
    )
    # A hook, never part of the release: upgrades leave the operator's routes alone.
    assert seed["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert seed["metadata"]["labels"] == {"app.kubernetes.io/part-of": "llmops"}


def test_should_neither_seed_nor_mount_a_table_when_told_not_to(charts: Charts) -> None:
    unseeded = charts.render("rag-gateway", {"routingTable": {"configMap": {"seed": False}}})
    built_in = charts.render("rag-gateway", {"routingTable": {"source": "builtIn"}})
    container, pod = _gateway(built_in)

    assert [d["metadata"]["name"] for d in unseeded if d["kind"] == "ConfigMap"] == [
        "r-rag-gateway"
    ]
    assert _settings(unseeded).routing_table is not None
    assert [d["metadata"]["name"] for d in built_in if d["kind"] == "ConfigMap"] == [
        "r-rag-gateway"
    ]
    assert [m["name"] for m in container["volumeMounts"]] == ["tmp"]
    assert [v["name"] for v in pod["volumes"]] == ["tmp"]


def test_should_give_the_built_in_table_the_backends_of_the_values(charts: Charts) -> None:
    values = {
        "routingTable": {"source": "builtIn"},
        "inference": {"url": "http://vllm.models:8000/v1", "defaultModel": "gemma"},
        "embedding": {"model": "minilm"},
        "rag": {"maxContextChars": 3000},
    }
    settings = _settings(charts.render("rag-gateway", values))

    assert settings.host == "0.0.0.0"  # noqa: S104
    assert settings.routing_table is None
    assert (settings.generate_url, settings.generate_model) == (
        "http://vllm.models:8000/v1",
        "gemma",
    )
    # embedding.url empty: the umbrella's embedder of the release (a generation server cannot
    # embed), not the inference URL.
    assert (settings.embed_url, settings.embed_model) == ("http://r-embedder:8000/v1", "minilm")
    assert settings.default_embedder == "minilm"
    assert settings.rag_max_context_chars == 3000


def test_should_mount_the_api_keys_secret_as_the_keys_file(charts: Charts) -> None:
    docs = charts.render("rag-gateway", {"auth": {"existingSecret": "keys", "secretKey": "k.yaml"}})
    settings = _settings(docs)
    container, pod = _gateway(docs)

    assert settings.keys_file is not None
    assert settings.keys_file.as_posix() == "/etc/llmops/keys/k.yaml"
    assert _mounted_file(pod, container, settings.keys_file.as_posix())["secret"] == {
        "secretName": "keys",
        "items": [{"key": "k.yaml", "path": "k.yaml"}],
    }


def test_should_wire_the_umbrellas_gateway_to_its_first_model_and_milvus(
    charts: Charts,
) -> None:
    docs = charts.render("llmops-stack")
    settings = _settings(docs)
    table = parse_routing_table(yaml.safe_load(_seed(docs)["data"]["routing.yaml"]))
    service = find(docs, "Service", "r-llm-inference")["spec"]
    engine = find(docs, "Deployment", "r-llm-inference")["spec"]["template"]["spec"]

    assert settings.host == "0.0.0.0"  # noqa: S104
    assert settings.routing_table is not None
    assert settings.routing_table.as_posix() == "/etc/llmops/routing/routing.yaml"
    assert settings.milvus_uri == "http://r-milvus:19530"
    assert find(docs, "Service", "r-milvus")["spec"]["ports"][0]["port"] == 19530
    assert [p["port"] for p in service["ports"]] == [8000]
    generate = table.routes["gemma-3-270m"].backends[0]
    assert generate.url == "http://r-llm-inference:8000/v1"
    assert f"--served-model-name={generate.model}" in engine["containers"][0]["args"]


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_should_give_readyz_time_to_ask_the_backends_and_then_milvus(
    charts: Charts, value_set: str
) -> None:
    chart, values = VALUE_SETS[value_set]
    docs = charts.render(chart, values)
    container, _ = _gateway(docs)
    settings = _settings(docs)

    # The backends are asked in parallel, then Milvus: two ready_timeout_s at most.
    assert container["readinessProbe"]["timeoutSeconds"] > 2 * settings.ready_timeout_s
