"""Locust's plain ``FastHttpUser`` for the load-generator benchmark (run only by Locust).

The same request as `CompletionStreamUser` (streamed completion), but the body is read in
one go and nothing is parsed, timed per token or recorded: the ceiling to compare against.
"""

from __future__ import annotations

import json
from typing import Any

from locust import FastHttpUser, events, task
from locust.argument_parser import LocustArgumentParser


def _add_arguments(parser: LocustArgumentParser) -> None:
    parser.add_argument("--bench-tokens", type=int, default=16)


events.init_command_line_parser.add_listener(_add_arguments)  # type: ignore[no-untyped-call]


class PlainCompletionUser(FastHttpUser):
    """POST /v1/completions, body read whole."""

    def on_start(self) -> None:
        tokens = self.environment.parsed_options.bench_tokens
        body: dict[str, Any] = {
            "model": "scripted-upstream",
            "prompt": "the cluster runs a model",
            "max_tokens": tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        self._body = json.dumps(body)

    @task
    def complete(self) -> None:
        self.client.post(
            "/v1/completions",
            data=self._body,
            headers={"Content-Type": "application/json"},
            name="plain completion",
        )
