"""What every llmops user shares: target interleaving, prompts, pacing, events and records."""

from __future__ import annotations

import itertools
import json
import random
import time
from typing import Any, ClassVar

from locust import FastHttpUser
from locust.exception import StopUser

from llmops_loadtest.core.config import Target
from llmops_loadtest.core.prompts import Prompt
from llmops_loadtest.core.records import ErrorKind, RequestRecord
from llmops_loadtest.core.schedule import Pacer
from llmops_loadtest.users.context import RunContext, current

_user_ids = itertools.count()


def classify_exception(error: BaseException) -> ErrorKind:
    """Map a transport exception to an error kind (timeouts before generic OS errors)."""
    name = type(error).__name__.lower()
    if isinstance(error, TimeoutError) or "timeout" in name:
        return ErrorKind.TIMEOUT
    return ErrorKind.CONNECT


def classify_status(status: int) -> ErrorKind:
    return ErrorKind.HTTP_4XX if 400 <= status < 500 else ErrorKind.HTTP_5XX


class LlmopsUser(FastHttpUser):
    """Base of the llmops users; subclasses implement `send(target, prompt)`.

    Each request goes to the next target in turn (compare mode interleaves baseline and
    candidate), with the next prompt of a per-user seeded order, after the pacing wait of the
    current stage (zero in closed-loop stages).
    """

    abstract = True
    host = "http://unused.invalid"  # every request uses an absolute target URL
    kind_name: ClassVar[str] = "request"

    def __init__(self, environment: Any) -> None:
        run_ctx = current()
        timeout = run_ctx.config.profile.request_timeout_s
        self.network_timeout = timeout
        self.connection_timeout = min(timeout, 10.0)
        super().__init__(environment)
        self.run_ctx: RunContext = run_ctx
        user_id = next(_user_ids)
        seed = run_ctx.config.profile.seed * 1_000_003 + user_id
        self._rng = random.Random(seed)  # noqa: S311 -- reproducible traffic, not secrets
        self._pacer = Pacer(self._rng)
        self._prompt_index = self._rng.randrange(len(run_ctx.prompts))
        self._target_index = user_id % len(run_ctx.config.targets)

    def wait_time(self) -> float:
        stage = self.run_ctx.current_stage()
        if stage is None:
            raise StopUser
        return self._pacer.wait_s(stage, time.time())

    def next_prompt(self) -> Prompt:
        prompt = self.run_ctx.prompts[self._prompt_index % len(self.run_ctx.prompts)]
        self._prompt_index += 1
        return prompt

    def next_target(self) -> Target:
        targets = self.run_ctx.config.targets
        target = targets[self._target_index % len(targets)]
        self._target_index += 1
        return target

    def body(self, target: Target, extra: dict[str, Any]) -> dict[str, Any]:
        profile = self.run_ctx.config.profile
        return {"model": target.model, **extra, **profile.extra_body}

    def path(self) -> str:
        """The endpoint this user posts to, e.g. ``/v1/completions``."""
        raise NotImplementedError

    def post_json(
        self, target: Target, body: dict[str, Any], *, stream: bool = False
    ) -> tuple[Any, float, float]:
        """POST `body` to this user's path: ``(response, wall-clock start, perf_counter start)``.

        Locust reports nothing for us (`catch_response`): callers turn every outcome,
        failures included, into one record and fire their own events.
        """
        started_at = time.time()
        sent = time.perf_counter()
        headers = {"Content-Type": "application/json", **self.run_ctx.config.profile.headers}
        response = self.client.request(
            "POST",
            target.url.rstrip("/") + self.path(),
            data=json.dumps(body),
            headers=headers,
            stream=stream,
            catch_response=True,
        )
        return response, started_at, sent

    def report(self, record: RequestRecord) -> None:
        """Write the record and fire Locust events (e2e, and ttft when there was one)."""
        self.run_ctx.record(record)
        events = self.environment.events.request
        exception = None
        if not record.success:
            exception = RuntimeError(f"{record.error_kind}: {record.error}"[:200])
        events.fire(
            request_type=record.kind.value,
            name=f"{record.target} {record.kind.value} e2e",
            response_time=record.e2e_s * 1000,
            response_length=record.output_tokens,
            exception=exception,
            context={"input_tokens": record.input_tokens, "output_tokens": record.output_tokens},
        )
        if record.ttft_s is not None:
            events.fire(
                request_type=record.kind.value,
                name=f"{record.target} {record.kind.value} ttft",
                response_time=record.ttft_s * 1000,
                response_length=0,
                exception=None,
                context={},
            )
