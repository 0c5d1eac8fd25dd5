"""The routing table's source: a YAML/JSON file (a mounted ConfigMap in clusters), polled.

Reload contract: the file's bytes are re-read every poll interval; when they change and
parse into a valid table, the new table replaces the reference in one assignment. A request
takes the table once, at its start, and keeps it, so in-flight requests finish on the table
they started with and no request is dropped. An invalid file keeps the previous table
(logged and counted as ``result="error"``). Polling the content, not inotify, is deliberate:
Kubernetes updates ConfigMap volumes by swapping a symlink, which file watches often miss.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import yaml

from llmops_contracts.routing import RoutingTable, RoutingTableError, parse_routing_table

log = logging.getLogger("llmops_gateway.routing")


def decode_document(raw: bytes, name: str) -> Any:
    """JSON for ``*.json``, YAML (a superset of JSON) otherwise."""
    if name.endswith(".json"):
        return json.loads(raw)
    return yaml.safe_load(raw)


class RoutingSource:
    """Holds the current table; `watch` keeps it in step with the file."""

    def __init__(
        self,
        table: RoutingTable,
        path: Path | None = None,
        on_reload: Callable[[str], None] | None = None,
    ) -> None:
        self.table = table
        self.path = path
        self.digest = ""
        self._on_reload = on_reload or (lambda _result: None)

    @classmethod
    def from_file(cls, path: Path, on_reload: Callable[[str], None] | None = None) -> RoutingSource:
        """Load the file once; a missing or invalid file at start-up is a hard error."""
        try:
            raw = path.read_bytes()
        except OSError as err:
            raise RoutingTableError(f"cannot read {path}: {err.strerror}") from err
        source = cls(_parse(raw, path), path, on_reload)
        source.digest = hashlib.sha256(raw).hexdigest()
        source._on_reload("ok")
        return source

    def reload_if_changed(self) -> bool:
        """Re-read the file; True when a new table is in force."""
        if self.path is None:
            return False
        try:
            raw = self.path.read_bytes()
        except OSError as err:
            # Mid-swap of a ConfigMap symlink, or deleted: keep serving the current table.
            log.warning(
                "routing table %s unreadable (%s); keeping version %r",
                self.path,
                err.strerror,
                self.table.version,
            )
            return False
        digest = hashlib.sha256(raw).hexdigest()
        if digest == self.digest:
            return False
        try:
            table = _parse(raw, self.path)
        except RoutingTableError as err:
            self.digest = digest  # do not log the same broken file every poll
            self._on_reload("error")
            log.error(
                "routing table %s rejected, keeping version %r: %s",
                self.path,
                self.table.version,
                err,
            )
            return False
        self.table, self.digest = table, digest
        self._on_reload("ok")
        log.info(
            "routing table %s reloaded: version %r, aliases %s",
            self.path,
            table.version,
            sorted(table.routes),
        )
        return True

    async def watch(self, interval_s: float) -> None:
        """Poll forever (run as a task; cancelled at shutdown)."""
        while True:
            await anyio.sleep(interval_s)
            self.reload_if_changed()


def _parse(raw: bytes, path: Path) -> RoutingTable:
    try:
        data = decode_document(raw, path.name)
    except (ValueError, yaml.YAMLError) as err:
        raise RoutingTableError(f"{path}: not valid YAML/JSON: {err}") from err
    return parse_routing_table(data)
