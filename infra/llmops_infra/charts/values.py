"""Platform config -> llmops-stack values. Pure: no I/O, no Helm."""

from __future__ import annotations

from typing import Any

from llmops_infra.charts.config import PlatformConfig


def merge_values(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge, ``override`` wins; lists are replaced, not concatenated (as Helm does)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def build_stack_values(config: PlatformConfig) -> dict[str, Any]:
    """Values for charts/llmops-stack; ``config.values`` is merged last."""
    model = config.model
    inference: dict[str, Any] = {
        "model": {"name": model.name, "uri": model.uri, "revision": model.revision},
        "engine": {"tensorParallelSize": model.tensor_parallel_size},
    }
    if model.gpus is not None:
        inference["gpu"] = {"count": model.gpus}
    gateway: dict[str, Any] = {
        "replicaCount": config.gateway.replicas,
        "inference": {"defaultModel": model.name},
    }
    if config.gateway.api_keys_secret:
        gateway["auth"] = {"existingSecret": config.gateway.api_keys_secret}
    milvus: dict[str, Any] = {"enabled": config.milvus.external is None}
    external = config.milvus.external
    if external is not None:
        gateway["milvus"] = {"host": external.host, "port": external.port}
    if config.storage_class:
        inference["modelCache"] = {"storageClassName": config.storage_class}
        milvus["persistence"] = {"storageClassName": config.storage_class}
    values: dict[str, Any] = {
        "llm-inference": inference,
        "milvus": milvus,
        "rag-gateway": gateway,
        "llmops-operator": {"watch": {"scope": config.operator.scope}},
    }
    return merge_values(values, config.values)
