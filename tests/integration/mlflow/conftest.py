"""One real MLflow tracking server per session (sqlite + a tmp artifact root).

The tool venv is built on first use (seconds with a warm uv cache); if it cannot be built or
the server does not come up, every test here fails with the reason and the command that
builds it; none is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from llmops_infra.errors import LlmopsError
from llmops_infra.settings import LocalSettings
from tests.integration.mlflow.server import (
    BUILD_COMMAND,
    MlflowServer,
    Registry,
    free_port,
    start_server,
)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    env = dict(os.environ)
    try:
        server = start_server(
            LocalSettings(), tmp_path_factory.mktemp("mlflow"), env, port=free_port()
        )
    except LlmopsError as err:
        pytest.fail(
            f"the MLflow tests need the mlflow tool venv: {err.one_line()}; build it with "
            f"{BUILD_COMMAND}",
            pytrace=False,
        )
    except RuntimeError as err:
        pytest.fail(f"the MLflow tests need a running mlflow server: {err}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def registry(mlflow_server: MlflowServer) -> Registry:
    return Registry(mlflow_server.url)
