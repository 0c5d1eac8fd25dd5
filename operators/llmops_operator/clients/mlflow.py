"""The MLflow model registry over its REST API (``/api/2.0/mlflow``), with httpx.

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

import httpx

from llmops_contracts.errors import LlmopsError
from llmops_operator.core.registry.resolution import RegisteredVersion

API = "/api/2.0/mlflow"
_RETRYABLE_4XX = (401, 403, 408, 429)


class RegistryError(LlmopsError):
    """A registry call that did not succeed: ``MLflow at URL: problem``, one readable line."""


class RegistryUnavailableError(RegistryError):
    pass


class RegistryRejectedError(RegistryError):
    pass


class MlflowRegistry:
    def __init__(self, tracking_uri: str, timeout_s: float) -> None:
        self.tracking_uri = tracking_uri.rstrip("/")
        self.timeout_s = timeout_s

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
        url = f"{self.tracking_uri}{API}{endpoint}"
        try:
            response = httpx.request(method, url, params=params, json=json, timeout=self.timeout_s)
        except httpx.HTTPError as err:
            raise RegistryUnavailableError(
                f"MLflow at {self.tracking_uri}", f"unreachable: {type(err).__name__}: {err}"
            ) from err
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            body = {}
        if response.is_success:
            return body
        detail = body.get("message") or response.reason_phrase
        piece, problem = f"MLflow at {self.tracking_uri}", f"{detail} (HTTP {response.status_code})"
        if response.status_code >= 500 or response.status_code in _RETRYABLE_4XX:
            raise RegistryUnavailableError(piece, problem)
        raise RegistryRejectedError(piece, problem)


def _version_of(raw: Mapping[str, Any]) -> RegisteredVersion:
    return RegisteredVersion(
        name=str(raw["name"]),
        version=str(raw["version"]),
        source=str(raw.get("source") or ""),
        tags={str(t["key"]): str(t.get("value", "")) for t in raw.get("tags", [])},
        description=str(raw.get("description") or ""),
    )
