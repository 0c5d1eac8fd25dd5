"""Start something slow at the end of collection, for a fixture to take up later.

Used by the engine fixture (``tests/conftest.py``) and the trace store's
(``tests/integration/traces/conftest.py``): as soon as collection shows a test that needs one
of ``fixtures``, its conftest's ``pytest_collection_finish`` calls `EarlyStart.begin`, which
starts it without waiting for it to be ready, so that the start overlaps the tests that run
first; the fixture then calls `EarlyStart.take`. An `LlmopsError` from the early start is
kept in the session's stash and raised by `take`, where the fixture reports it as a failure.
What is stopped, and when, stays with each conftest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

import pytest

from llmops_infra.errors import LlmopsError

T = TypeVar("T")


class EarlyStart(Generic[T]):
    """One thing started early, kept under its own stash key."""

    def __init__(self, fixtures: Iterable[str]) -> None:
        self.fixtures = frozenset(fixtures)
        self.key = pytest.StashKey[T | LlmopsError]()

    def begin(self, session: pytest.Session, start: Callable[[], T]) -> None:
        """From ``pytest_collection_finish``: `start` it if a collected test uses one of the
        fixtures, keeping what it returns, or the `LlmopsError` it raised."""
        if session.config.option.collectonly:
            return  # nothing will run, so nothing would ever stop what we started
        if any(self.fixtures & set(getattr(item, "fixturenames", ())) for item in session.items):
            try:
                session.stash[self.key] = start()
            except LlmopsError as err:
                session.stash[self.key] = err  # reported by the fixture, as a failure

    def take(self, session: pytest.Session, start: Callable[[], T]) -> T:
        """What the early start returned, or `start` now if nothing started early; raises the
        early start's `LlmopsError`."""
        early = session.stash.get(self.key, None)
        if isinstance(early, LlmopsError):
            raise early
        return early or start()

    def started(self, session: pytest.Session) -> T | None:
        """What the early start returned, None if nothing started early or it failed."""
        early = session.stash.get(self.key, None)
        return None if isinstance(early, LlmopsError) else early
