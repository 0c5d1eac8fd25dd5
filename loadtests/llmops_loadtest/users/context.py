"""Per-process state of a Locust run: the run config, the prompt list and the record file."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from llmops_loadtest.core.config import RunConfig
from llmops_loadtest.core.prompts import Prompt, build_prompts
from llmops_loadtest.core.records import RequestRecord
from llmops_loadtest.core.schedule import Stage, stage_at


@dataclass
class RunContext:
    """Shared by every user of one process; ``started_at`` is set when the test starts."""

    config: RunConfig
    prompts: list[Prompt]
    stages: list[Stage]
    started_at: float = field(default_factory=time.time)
    _sink: IO[str] | None = None

    @classmethod
    def load(cls, config_path: Path) -> RunContext:
        config = RunConfig.read(config_path)
        profile = config.profile
        prompts = build_prompts(
            profile.prompts, profile.seed, profile.prompt_pool, list(config.prompt_lines)
        )
        return cls(config=config, prompts=prompts, stages=profile.stages())

    def current_stage(self) -> Stage | None:
        return stage_at(self.stages, time.time() - self.started_at)

    def record(self, record: RequestRecord) -> None:
        """Append one record; line-buffered so the runner's live view sees it at once."""
        if self._sink is None:
            self.config.records_dir.mkdir(parents=True, exist_ok=True)
            name = f"{socket.gethostname()}-{os.getpid()}.jsonl"
            self._sink = (self.config.records_dir / name).open("a", encoding="utf-8", buffering=1)
        self._sink.write(record.to_json() + "\n")

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None


_CURRENT: list[RunContext] = []


def install(context: RunContext) -> None:
    _CURRENT[:] = [context]


def current() -> RunContext:
    """The context `llmops_loadtest.locustfile` installed at Locust's ``init`` event."""
    if not _CURRENT:
        raise RuntimeError("no run context: run the users through llmops_loadtest.locustfile")
    return _CURRENT[0]
