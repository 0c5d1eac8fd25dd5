"""Streaming OpenAI-compatible users: completions and chat, measured token by token."""

from __future__ import annotations

import itertools
import time
from typing import Any, ClassVar

from locust import task

from llmops_loadtest.core.config import Target
from llmops_loadtest.core.prompts import Prompt
from llmops_loadtest.core.records import (
    ErrorKind,
    RequestKind,
    RequestRecord,
    compute_tpot_s,
)
from llmops_loadtest.core.sse import DONE, SseDecoder, read_chunk
from llmops_loadtest.users.base import LlmopsUser, classify_exception, classify_status


class _StreamState:
    """Times and counts gathered while one stream is read."""

    def __init__(self, sent_at: float) -> None:
        self.sent_at = sent_at
        self.token_times: list[float] = []
        self.usage_prompt: int | None = None
        self.usage_completion: int | None = None
        self.done = False
        self.error = ""

    def take(self, payload: str, now: float) -> None:
        if payload == DONE:
            self.done = True
            return
        info = read_chunk(payload)
        if info.error:
            self.error = info.error
        if info.has_token:
            self.token_times.append(now)
        if info.completion_tokens is not None:
            self.usage_prompt = info.prompt_tokens
            self.usage_completion = info.completion_tokens


class _StreamingUser(LlmopsUser):
    abstract = True
    kind: ClassVar[RequestKind]

    def path(self) -> str:
        raise NotImplementedError

    def payload(self, prompt: Prompt) -> dict[str, Any]:
        raise NotImplementedError

    @task
    def generate(self) -> None:
        target = self.next_target()
        prompt = self.next_prompt()
        body = self.body(target, self.payload(prompt))
        body.update(stream=True, stream_options={"include_usage": True})
        self.report(self.stream(target, body))

    def stream(self, target: Target, body: dict[str, Any]) -> RequestRecord:
        """Send one streaming request; every outcome, including failures, becomes a record."""
        response, started_at, sent = self.post_json(target, body, stream=True)
        base: dict[str, Any] = {"kind": self.kind, "started_at": started_at, "target": target.label}
        status = response.status_code
        error = getattr(response, "error", None)
        if error is not None and not status:
            return RequestRecord(
                **base,
                e2e_s=time.perf_counter() - sent,
                success=False,
                error_kind=classify_exception(error),
                error=f"{type(error).__name__}: {error}"[:200],
            )
        if status != 200:
            text = (response.text or "")[:200]
            return RequestRecord(
                **base,
                e2e_s=time.perf_counter() - sent,
                success=False,
                status_code=status,
                error_kind=classify_status(status),
                error=text,
            )
        state = _StreamState(sent)
        decoder = SseDecoder()
        try:
            # readline returns as soon as one line has arrived (iter_content's read(n) waits
            # for n bytes, which would hide every token's arrival time)
            raw = response._response
            while raw is not None and not state.done:
                line = raw.readline(b"\n")
                if not line:
                    break
                now = time.perf_counter()
                for payload in decoder.feed(line):
                    state.take(payload, now)
        except Exception as err:  # the stream broke: the transport's exception, any kind
            return RequestRecord(
                **base,
                e2e_s=time.perf_counter() - sent,
                success=False,
                status_code=status,
                error_kind=classify_exception(err),
                error=f"{type(err).__name__}: {err}"[:200],
            )
        return self._finish(base, state, status)

    @staticmethod
    def _finish(base: dict[str, Any], state: _StreamState, status: int) -> RequestRecord:
        e2e = time.perf_counter() - state.sent_at
        times = state.token_times
        ttft = times[0] - state.sent_at if times else None
        itl = tuple(later - earlier for earlier, later in itertools.pairwise(times))
        from_usage = state.usage_completion is not None
        output = state.usage_completion if from_usage else len(times)
        common: dict[str, Any] = {
            **base,
            "e2e_s": e2e,
            "ttft_s": ttft,
            "itl_s": itl,
            "input_tokens": state.usage_prompt or 0,
            "output_tokens": output or 0,
            "tokens_from_usage": from_usage,
            "tpot_s": compute_tpot_s(e2e, ttft, output or 0),
            "status_code": status,
        }
        if state.error or not state.done:
            reason = state.error or "stream ended without [DONE]"
            return RequestRecord(**common, success=False, error_kind=ErrorKind.STREAM, error=reason)
        if not times:
            return RequestRecord(
                **common, success=False, error_kind=ErrorKind.EMPTY, error="no output token"
            )
        return RequestRecord(**common, success=True)


class CompletionStreamUser(_StreamingUser):
    """``POST /v1/completions`` with ``stream: true``: base models, completion prompts."""

    kind = RequestKind.COMPLETION

    def path(self) -> str:
        return self.run_ctx.config.profile.paths.completions

    def payload(self, prompt: Prompt) -> dict[str, Any]:
        return {"prompt": prompt.text, "max_tokens": prompt.max_tokens}


class ChatStreamUser(_StreamingUser):
    """``POST /v1/chat/completions`` with ``stream: true``: one user message per request."""

    kind = RequestKind.CHAT

    def path(self) -> str:
        return self.run_ctx.config.profile.paths.chat

    def payload(self, prompt: Prompt) -> dict[str, Any]:
        return {
            "messages": [{"role": "user", "content": prompt.text}],
            "max_tokens": prompt.max_tokens,
        }
