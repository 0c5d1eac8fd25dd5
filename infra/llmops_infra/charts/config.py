"""The platform config file: the few choices a platform team makes, checked before Helm runs.

Example (every key optional)::

    release: llmops
    namespace: llmops
    storageClass: fast-ssd
    model: {name: gemma-3-270m, uri: hf://google/gemma-3-270m, tensorParallelSize: 1}
    milvus: {external: {host: milvus.vector.svc, port: 19530}}
    gateway: {replicas: 2, apiKeysSecret: gateway-api-keys}
    operator: {scope: cluster}
    values: {}   # raw llmops-stack values, merged last (checked by the charts' schemas)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmops_infra.errors import LlmopsError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ModelConfig(_Strict):
    name: str = Field(default="gemma-3-270m", min_length=1)
    uri: str = Field(default="hf://google/gemma-3-270m", pattern=r"^(hf|s3|pvc)://.+$")
    revision: str = "1"
    tensor_parallel_size: int = Field(default=1, ge=1, alias="tensorParallelSize")
    gpus: int | None = Field(default=None, ge=0)


class ExternalMilvus(_Strict):
    host: str = Field(min_length=1)
    port: int = Field(default=19530, ge=1, le=65535)


class MilvusConfig(_Strict):
    external: ExternalMilvus | None = None


class GatewayConfig(_Strict):
    replicas: int = Field(default=2, ge=0)
    api_keys_secret: str = Field(default="", alias="apiKeysSecret")


class OperatorConfig(_Strict):
    scope: Literal["cluster", "namespaced"] = "cluster"


class PlatformConfig(_Strict):
    release: str = Field(default="llmops", pattern=r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")
    namespace: str = Field(default="llmops", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    storage_class: str = Field(default="", alias="storageClass")
    model: ModelConfig = ModelConfig()
    milvus: MilvusConfig = MilvusConfig()
    gateway: GatewayConfig = GatewayConfig()
    operator: OperatorConfig = OperatorConfig()
    values: dict[str, Any] = Field(default_factory=dict)


def parse_platform_config(data: object, source: str = "platform config") -> PlatformConfig:
    """Check plain data; the first problem becomes one line naming the key."""
    try:
        return PlatformConfig.model_validate(data if data is not None else {})
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise LlmopsError(source, f"{key}: {first['msg']}", "see `llmops install --help`") from None


def load_platform_config(path: Path | None) -> PlatformConfig:
    """The config in ``path``, or the defaults when no file is given."""
    if path is None:
        return PlatformConfig()
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise LlmopsError(str(path), f"cannot read it: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise LlmopsError(str(path), f"is not YAML: {str(err).splitlines()[0]}") from None
    return parse_platform_config(data, str(path))
