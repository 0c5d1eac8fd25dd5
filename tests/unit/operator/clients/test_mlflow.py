"""The operator's registry errors, from the shared MLflow client's: retry or refuse."""

from __future__ import annotations

import pytest

from llmops_loadtest.mlflow_rest import MlflowError
from llmops_operator.clients.mlflow import (
    MlflowRegistry,
    RegistryRejectedError,
    RegistryUnavailableError,
    _registry_error,
)


def test_should_refuse_an_unknown_alias_naming_mlflows_answer_not_the_endpoint() -> None:
    answer = MlflowError(
        "http://m:5000", "/registered-models/alias: alias nope not found (HTTP 404)",
        status=404, endpoint="/registered-models/alias", detail="alias nope not found",
    )  # fmt: skip
    error = _registry_error(answer)
    assert isinstance(error, RegistryRejectedError)
    assert str(error) == "MLflow at http://m:5000: alias nope not found (HTTP 404)"


def test_should_retry_an_unreachable_or_failing_registry() -> None:
    down = _registry_error(MlflowError("http://m:5000", "unreachable: ConnectError: refused"))
    assert isinstance(down, RegistryUnavailableError)
    assert str(down) == "MLflow at http://m:5000: unreachable: ConnectError: refused"
    failing = MlflowError("http://m:5000", "x", status=503, detail="Service Unavailable")
    assert isinstance(_registry_error(failing), RegistryUnavailableError)


@pytest.mark.parametrize("url", ["http://\x00bad", "http://[::1"])
def test_a_tracking_uri_no_request_can_be_made_to_is_refused_not_retried(url: str) -> None:
    with pytest.raises(RegistryRejectedError, match="trackingUri is not a usable"):
        MlflowRegistry(url, 1).model_version("m", "1")
