"""The feedback file: one JSON object per line, appended (``feedback_file``; optional)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio


class FeedbackLog:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = anyio.Lock()

    async def append(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        line = json.dumps(record, separators=(",", ":")) + "\n"
        async with self._lock:
            await anyio.Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            async with await anyio.open_file(self.path, "a") as file:
                await file.write(line)
