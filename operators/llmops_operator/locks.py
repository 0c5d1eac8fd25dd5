"""One lock per ModelDeployment, shared by its timer tick and its deletion handler.

kopf runs both in threads and does not serialise them: a tick already running when the
deletion starts could write traffic after the deletion handler removed it. The tick holds
the lock for its whole run and does nothing once kopf has stopped its timer (kopf stops it
before it calls deletion handlers); the deletion handler takes the lock too, so its write
is the last.
"""

from __future__ import annotations

import threading


class ObjectLocks:
    """A `threading.Lock` per key (``namespace/name``), made on first use."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def of(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def forget(self, key: str) -> None:
        """The object is gone: drop its lock (a late user simply makes a new one)."""
        with self._guard:
            self._locks.pop(key, None)
