"""MLflow's REST API (``/api/2.0/mlflow``) over httpx: the project's one MLflow client.

No MLflow package: the calls are plain JSON, and the client library would bring a dozen
dependencies and ~10 s of imports into every process that talks to MLflow. Its users: the
load test logs its report as a run (`llmops_loadtest.mlflow_log`), the operator resolves and
releases registered model versions (`llmops_operator.clients.mlflow`, which may import this
package, never the reverse), and the MLflow integration tests set up their registry.

Every failure is an `MlflowError`, one line ``MLflow at URL: problem``; its `status` is the
HTTP status (None: no answer at all), and `should_retry` tells an outage from a refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from llmops_loadtest.errors import LoadtestError

API = "/api/2.0/mlflow"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
# Answers that may well change when asked again later (auth proxies, throttling, timeouts).
_RETRYABLE_4XX = (401, 403, 408, 429)


class MlflowError(LoadtestError):
    """A call that did not succeed: unreachable (`status` None) or answered with an error.

    `detail` is MLflow's own message (or the HTTP reason), `endpoint` the API path called.
    """

    def __init__(
        self,
        base: str,
        problem: str,
        fix: str = "",
        *,
        status: int | None = None,
        endpoint: str = "",
        detail: str = "",
        retryable: bool = True,
    ) -> None:
        super().__init__(f"MLflow at {base}", problem, fix)
        self.status = status
        self.endpoint = endpoint
        self.detail = detail
        self.retryable = retryable

    @property
    def should_retry(self) -> bool:
        """No answer, a 5xx, or a 4xx that may pass later: ask again rather than give up
        (never for a URL no request can be made to)."""
        if not self.retryable:
            return False
        return self.status is None or self.status >= 500 or self.status in _RETRYABLE_4XX


class MlflowClient:
    """One tracking server. `unreachable_fix` is the fix named when it does not answer."""

    def __init__(self, tracking_uri: str, timeout_s: float, *, unreachable_fix: str = "") -> None:
        self.base = tracking_uri.rstrip("/")
        self.timeout_s = timeout_s
        self.unreachable_fix = unreachable_fix

    def call(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The JSON body of a successful call to ``API + endpoint``."""
        response = self._send(method, f"{self.base}{API}{endpoint}", params=params, json=json)
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            body = {}
        if not response.is_success:
            detail = str(body.get("message") or response.reason_phrase)
            raise MlflowError(
                self.base,
                f"{endpoint}: {detail} (HTTP {response.status_code})",
                status=response.status_code,
                endpoint=endpoint,
                detail=detail,
            )
        return body

    def experiment_id(self, name: str) -> str:
        """The experiment's id, created on first use."""
        found = self._send(
            "GET", f"{self.base}{API}/experiments/get-by-name", params={"experiment_name": name}
        )
        if found.status_code == 200:
            return str(found.json()["experiment"]["experiment_id"])
        return str(self.call("POST", "/experiments/create", json={"name": name})["experiment_id"])

    def register_version(
        self,
        name: str,
        source: str,
        *,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """A new version of registered model ``name`` (created on first use); its number."""
        try:
            self.call("POST", "/registered-models/create", json={"name": name})
        except MlflowError as err:
            if err.status != 400:  # 400: RESOURCE_ALREADY_EXISTS, a known model
                raise
        payload = {
            "name": name,
            "source": source,
            "description": description,
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
        }
        return str(
            self.call("POST", "/model-versions/create", json=payload)["model_version"]["version"]
        )

    def upload_artifact(self, artifact_uri: str, name: str, content: bytes) -> None:
        """Through the server's artifact proxy (``mlflow-artifacts:/...`` run roots only)."""
        prefix = "mlflow-artifacts:/"
        if not artifact_uri.startswith(prefix):
            raise LoadtestError(
                f"MLflow at {self.base}",
                f"run artifacts go to {artifact_uri}, not through the server",
                "run `mlflow server` with artifact serving on (its default)",
            )
        path = artifact_uri.removeprefix(prefix).lstrip("/")
        response = self._send("PUT", f"{self.base}{ARTIFACTS_API}/{path}/{name}", content=content)
        if not response.is_success:
            raise MlflowError(
                self.base,
                f"upload of {name} failed (HTTP {response.status_code})",
                status=response.status_code,
                endpoint=f"{ARTIFACTS_API}/{path}/{name}",
                detail=response.reason_phrase,
            )

    def download_artifact(self, artifact_uri: str, name: str) -> bytes:
        """The bytes of a run artifact, through the server's artifact proxy."""
        prefix = "mlflow-artifacts:/"
        if not artifact_uri.startswith(prefix):
            raise LoadtestError(
                f"MLflow at {self.base}",
                f"run artifacts are at {artifact_uri}, not served by the server",
                "run `mlflow server` with artifact serving on (its default)",
            )
        path = artifact_uri.removeprefix(prefix).lstrip("/")
        response = self._send("GET", f"{self.base}{ARTIFACTS_API}/{path}/{name}")
        if not response.is_success:
            raise MlflowError(
                self.base,
                f"artifact {name} of {artifact_uri}: HTTP {response.status_code}",
                status=response.status_code,
                endpoint=f"{ARTIFACTS_API}/{path}/{name}",
                detail=response.reason_phrase,
            )
        return response.content

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return httpx.request(method, url, timeout=self.timeout_s, **kwargs)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError) as err:
            raise MlflowError(
                self.base,
                f"trackingUri is not a usable http(s) URL ({err})",
                "give the tracking server as http(s)://host:port",
                retryable=False,
            ) from err
        except httpx.HTTPError as err:
            raise MlflowError(
                self.base, f"unreachable: {type(err).__name__}: {err}", self.unreachable_fix
            ) from err
