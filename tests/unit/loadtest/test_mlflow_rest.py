"""The one MLflow REST client's errors: one line, and an outage told from a refusal."""

from __future__ import annotations

import pytest

from llmops_loadtest.mlflow_rest import MlflowError


@pytest.mark.parametrize(
    ("status", "retry"),
    [(None, True), (500, True), (503, True), (401, True), (403, True), (408, True),
     (429, True), (400, False), (404, False), (409, False)],
)  # fmt: skip
def test_should_retry_an_outage_and_not_a_refusal(status: int | None, retry: bool) -> None:
    assert MlflowError("http://m:5000", "x", status=status).should_retry is retry


def test_should_name_the_server_in_one_line() -> None:
    error = MlflowError(
        "http://m:5000", "/model-versions/get: not found (HTTP 404)", status=404,
        endpoint="/model-versions/get", detail="not found",
    )  # fmt: skip
    assert error.one_line() == "MLflow at http://m:5000: /model-versions/get: not found (HTTP 404)"
