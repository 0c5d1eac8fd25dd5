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
from llmops_operator.core.registry.manifest import (
    MANIFEST_ARTIFACT,
    MANIFEST_DIGEST_TAG,
    MANIFEST_EXPERIMENT,
    MANIFEST_RUN_TAG,
)
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

    def log_release_manifest(self, name: str, version: str, manifest_json: str, digest: str) -> str:
        """The manifest as the artifact of a finished run (experiment `MANIFEST_EXPERIMENT`),
        tagged onto the version; returns the run's id."""
        try:
            experiment_id = self._api.experiment_id(MANIFEST_EXPERIMENT)
            tags = {"llmops.model.name": name, "llmops.model.version": version,
                    MANIFEST_DIGEST_TAG: digest}  # fmt: skip
            run = self._api.call("POST", "/runs/create", json={
                "experiment_id": experiment_id, "run_name": f"release-{name}-{version}",
                "tags": [{"key": k, "value": v} for k, v in tags.items()],
            })["run"]["info"]  # fmt: skip
            self._api.upload_artifact(run["artifact_uri"], MANIFEST_ARTIFACT,
                                      manifest_json.encode())  # fmt: skip
            self._api.call("POST", "/runs/update",
                           json={"run_id": run["run_id"], "status": "FINISHED"})  # fmt: skip
        except MlflowError as err:
            raise _registry_error(err) from err
        except LlmopsError as err:  # an artifact root the server does not proxy
            raise RegistryRejectedError(err.piece, err.problem, err.fix) from err
        run_id = str(run["run_id"])
        self.set_version_tags(
            name, version, {MANIFEST_RUN_TAG: run_id, MANIFEST_DIGEST_TAG: digest}
        )
        return run_id

    def read_release_manifest(self, name: str, version: str) -> tuple[str, str]:
        """The manifest recorded against the version, and the digest its tag names."""
        tags = self.model_version(name, version).tags
        run_id = tags.get(MANIFEST_RUN_TAG)
        if not run_id:
            raise RegistryRejectedError(
                f"MLflow at {self._api.base}",
                f"model version {name}/{version} has no release manifest ({MANIFEST_RUN_TAG} "
                "is not set: the operator records one when a rollout of it succeeds)",
            )
        run = self._call("GET", "/runs/get", params={"run_id": run_id})["run"]["info"]
        try:
            content = self._api.download_artifact(run["artifact_uri"], MANIFEST_ARTIFACT)
        except MlflowError as err:
            raise _registry_error(err) from err
        except LlmopsError as err:
            raise RegistryRejectedError(err.piece, err.problem, err.fix) from err
        return content.decode(), tags.get(MANIFEST_DIGEST_TAG, "")

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
