"""The test side of a real MLflow tracking server (the launcher is
`llmops_infra.charts.mlflow_server`, which the demo uses too): a free loopback port, and the
setup calls a data scientist's pipeline would make."""

from __future__ import annotations

import socket
from collections.abc import Mapping

from llmops.registry import tags_of
from llmops_infra.charts.mlflow_server import MLFLOW, MlflowServer, start_server
from llmops_loadtest.mlflow_rest import MlflowClient

__all__ = ["BUILD_COMMAND", "MLFLOW", "MlflowServer", "Registry", "free_port", "start_server",
           "tags_of"]  # fmt: skip

BUILD_COMMAND = (
    'python -c "import os; from llmops_infra.charts.toolvenv import ensure_tool_venv; '
    "from llmops_infra.charts.mlflow_server import MLFLOW; "
    "from llmops_infra.settings import LocalSettings; "
    'ensure_tool_venv(MLFLOW, LocalSettings(), os.environ)"'
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Registry:
    """Test-side setup calls (what a data scientist's pipeline would do), through the
    project's own MLflow client."""

    def __init__(self, url: str) -> None:
        self.client = MlflowClient(url, 30)

    def post(self, endpoint: str, payload: dict[str, object]) -> dict[str, object]:
        return self.client.call("POST", endpoint, json=payload)

    def get(self, endpoint: str, **params: str) -> dict[str, object]:
        return self.client.call("GET", endpoint, params=params)

    def register(self, name: str, source: str, tags: Mapping[str, str]) -> str:
        """A new version of ``name`` (created on first use); returns its number."""
        return self.client.register_version(name, source, tags=tags)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.post("/registered-models/alias", {"name": name, "alias": alias, "version": version})

    def version(self, name: str, version: str) -> dict[str, object]:
        found = self.get("/model-versions/get", name=name, version=version)["model_version"]
        assert isinstance(found, dict)
        return found

    def alias(self, name: str, alias: str) -> str:
        found = self.get("/registered-models/alias", name=name, alias=alias)["model_version"]
        assert isinstance(found, dict)
        return str(found["version"])
