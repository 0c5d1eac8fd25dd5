"""The locustfile the runner passes to ``locust -f``; never imported outside Locust.

Custom argument ``--llmops-config PATH`` names the `RunConfig` JSON; the runner names the one
user class to run (``USER_BY_API[profile.api]``) on the command line; the schedule drives
`ScheduleShape`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.runners import MasterRunner

from llmops_loadtest.shapes import ScheduleShape
from llmops_loadtest.users import context as run_context
from llmops_loadtest.users.openai import ChatStreamUser, CompletionStreamUser
from llmops_loadtest.users.rag import IngestUser, RagQueryUser

__all__ = ["ChatStreamUser", "CompletionStreamUser", "IngestUser", "RagQueryUser", "ScheduleShape"]


def _add_arguments(parser: LocustArgumentParser) -> None:
    parser.add_argument("--llmops-config", default="", help="RunConfig JSON written by llmops")


def _on_init(environment: Any, **_kwargs: Any) -> None:
    path = environment.parsed_options.llmops_config
    if not path:
        raise SystemExit("llmops_loadtest.locustfile needs --llmops-config PATH")
    ctx = run_context.RunContext.load(Path(path))
    run_context.install(ctx)
    ScheduleShape.stages = ctx.stages
    if environment.shape_class is not None:
        environment.shape_class.stages = ctx.stages


def _on_test_start(environment: Any, **_kwargs: Any) -> None:
    ctx = run_context.current()
    ctx.started_at = time.time()
    if isinstance(environment.runner, MasterRunner) or not _is_worker(environment):
        meta = {"started_at": ctx.started_at, "duration_s": ctx.config.profile.duration_s}
        ctx.config.meta_path.write_text(json.dumps(meta), encoding="utf-8")


def _on_test_stop(**_kwargs: Any) -> None:
    run_context.current().close()


def _is_worker(environment: Any) -> bool:
    return type(environment.runner).__name__ == "WorkerRunner"


events.init_command_line_parser.add_listener(_add_arguments)  # type: ignore[no-untyped-call]
events.init.add_listener(_on_init)  # type: ignore[no-untyped-call]
events.test_start.add_listener(_on_test_start)  # type: ignore[no-untyped-call]
events.test_stop.add_listener(_on_test_stop)  # type: ignore[no-untyped-call]
