"""The MLflow model registry, through the project's one MLflow REST client
(`llmops_loadtest.mlflow_rest`, in the load-test package the operator already depends on).

No MLflow package in the operator: the five calls it makes are plain JSON, and the client
library would bring a dozen dependencies and ~10 s of imports into every operator start.

Errors decide what the shell does next:
- `RegistryUnavailableError`: connection refused, timeout, 5xx, 401/403/429 -> a condition and a
  retry later (the reference may well resolve once MLflow is back);
- `RegistryRejectedError`: unknown model, version or alias (MLflow answers 404, or 400 for an
  unknown alias), or another 4xx -> the spec cannot roll out as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmops_contracts.errors import LlmopsError
from llmops_loadtest.mlflow_rest import MlflowClient, MlflowError
from llmops_operator.core.registry.resolution import RegisteredVersion


class RegistryError(LlmopsError):
    """A registry call that did not succeed: ``MLflow at URL: problem``, one readable line."""


class RegistryUnavailableError(RegistryError):
    pass


class RegistryRejectedError(RegistryError):
    pass


class MlflowRegistry:
    def __init__(self, tracking_uri: str, timeout_s: float) -> None:
        self._api = MlflowClient(tracking_uri, timeout_s)

    def model_version(self, name: str, version: str) -> RegisteredVersion:
        body = self._call("GET", "/model-versions/get", params={"name": name, "version": version})
        return _version_of(body["model_version"])

    def version_by_alias(self, name: str, alias: str) -> RegisteredVersion:
        body = self._call("GET", "/registered-models/alias", params={"name": name, "alias": alias})
        return _version_of(body["model_version"])

    def set_alias(self, name: str, alias: str, version: str) -> None:
        payload = {"name": name, "alias": alias, "version": version}
        self._call("POST", "/registered-models/alias", json=payload)

    def set_version_tags(self, name: str, version: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            payload = {"name": name, "version": version, "key": key, "value": value}
            self._call("POST", "/model-versions/set-tag", json=payload)

    def set_description(self, name: str, version: str, description: str) -> None:
        payload = {"name": name, "version": version, "description": description}
        self._call("PATCH", "/model-versions/update", json=payload)

    def _call(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            return self._api.call(method, endpoint, params=params, json=json)
        except MlflowError as err:
            raise _registry_error(err) from err


def _registry_error(err: MlflowError) -> RegistryError:
    """Retry or refuse; the message names MLflow's answer, not the endpoint asked."""
    problem = err.problem if err.status is None else f"{err.detail} (HTTP {err.status})"
    kind = RegistryUnavailableError if err.should_retry else RegistryRejectedError
    return kind(err.piece, problem)


def _version_of(raw: Mapping[str, Any]) -> RegisteredVersion:
    return RegisteredVersion(
        name=str(raw["name"]),
        version=str(raw["version"]),
        source=str(raw.get("source") or ""),
        tags={str(t["key"]): str(t.get("value", "")) for t in raw.get("tags", [])},
        description=str(raw.get("description") or ""),
    )
