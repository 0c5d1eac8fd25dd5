"""`kube.retry_on_conflict`: a read-modify-write refused with 409 runs again, nothing else."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from llmops_operator.clients import kube


class Writer:
    """Fails with the given statuses in turn, then returns how many calls it took."""

    def __init__(self, *statuses: int) -> None:
        self.statuses, self.calls = list(statuses), 0

    def __call__(self, table: str) -> str:
        self.calls += 1
        if self.statuses:
            raise ApiException(status=self.statuses.pop(0))
        return f"{table} written on call {self.calls}"


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kube, "CONFLICT_PAUSE_S", 0.0)


def test_conflicts_are_retried_until_the_write_goes_through() -> None:
    writer = Writer(409, 409)
    assert kube.retry_on_conflict(writer)("routes") == "routes written on call 3"


def test_the_last_conflict_is_raised_after_the_allowed_attempts() -> None:
    writer = Writer(409, 409, 409)
    with pytest.raises(ApiException) as raised:
        kube.retry_on_conflict(writer, attempts=3)("routes")
    assert raised.value.status == 409
    assert writer.calls == 3


@pytest.mark.parametrize("status", [403, 404, 422, 500])
def test_other_errors_are_raised_at_once(status: int) -> None:
    writer = Writer(status)
    with pytest.raises(ApiException) as raised:
        kube.retry_on_conflict(writer)("routes")
    assert raised.value.status == status
    assert writer.calls == 1
