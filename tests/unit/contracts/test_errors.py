"""The one error base: what went wrong and how to fix it, as one readable line."""

from __future__ import annotations

import pytest

from llmops_contracts.errors import LlmopsError
from llmops_infra.errors import LlmopsError as InfraError
from llmops_loadtest.errors import LoadtestError
from llmops_loadtest.mlflow_rest import MlflowError
from llmops_operator.clients.mlflow import RegistryRejectedError, RegistryUnavailableError


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            LlmopsError("go", "not found", "make control-plane"),
            "go: not found (fix: make control-plane)",
        ),
        (LlmopsError("port 16443", "in use"), "port 16443: in use"),
        (LlmopsError("", "the alias has no backend"), "the alias has no backend"),
    ],
)
def test_should_read_piece_problem_and_fix_in_one_line(error: LlmopsError, line: str) -> None:
    assert error.one_line() == line
    assert str(error) == line


@pytest.mark.parametrize(
    "error",
    [
        InfraError("go", "missing"),
        LoadtestError("--profile", "missing"),
        MlflowError("http://m:5000", "unreachable: ConnectError: refused"),
        RegistryUnavailableError("MLflow at http://m:5000", "unreachable"),
        RegistryRejectedError("MLflow at http://m:5000", "alias nope not found (HTTP 404)"),
    ],
)
def test_should_be_the_base_of_every_components_errors(error: Exception) -> None:
    assert isinstance(error, LlmopsError)


def test_should_let_a_subclass_take_its_own_arguments() -> None:
    class StatusError(LlmopsError):
        def __init__(self, message: str, *, status: int) -> None:
            super().__init__("", message)
            self.status = status

    error = StatusError("model not allowed", status=403)
    assert (str(error), error.status, error.fix) == ("model not allowed", 403, "")
