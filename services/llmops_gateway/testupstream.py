"""A fast OpenAI-compatible TEST upstream. It is not vLLM and runs no model.

It exists for the gateway's integration tests (routing, fallback, reload under load,
cancellation, bad input) and for ``llmops bench gateway`` (gateway overhead against an
upstream whose own latency is known and tiny). It answers the OpenAI routes with
deterministic text (``tok0 tok1 ...``), honest usage counts (words), and deterministic
bag-of-words embeddings, so similar texts get similar vectors. Test controls:

- ``--name``: echoed in every response's ``model`` suffix and ``x-upstream-name`` header,
  so a test can see which backend served;
- ``--token-delay-ms`` (or the request header ``x-test-token-delay-ms``): pause per token;
- ``--fail-status``: answer every generation with this status (e.g. 503, 500);
- ``GET /_stats``: requests served, streams in flight, streams cancelled by the client,
  and the last request's headers (to check ``traceparent`` propagation).

Run: ``python -m llmops_gateway.testupstream --port 19000 --name a``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

EMBED_DIM = 384


@dataclass
class Stats:
    requests: int = 0
    streams_in_flight: int = 0
    streams_cancelled: int = 0
    streams_completed: int = 0
    last_headers: dict[str, str] = field(default_factory=dict)
    last_body: dict[str, Any] = field(default_factory=dict)


def _embed(text: str, dim: int = EMBED_DIM) -> list[float]:
    """Bag of hashed words, L2-normalised: texts sharing words have a higher cosine."""
    vector = [0.0] * dim
    for raw in text.lower().split():
        word = raw.strip(".,;:!?()[]\"'")
        if not word:
            continue
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        vector[int.from_bytes(digest[:4], "big") % dim] += 1.0
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return [value / norm for value in vector]


def _prompt_words(body: dict[str, Any]) -> int:
    if "messages" in body:
        return sum(len(str(m.get("content", "")).split()) for m in body["messages"])
    prompt = body.get("prompt", "")
    return len(prompt.split()) if isinstance(prompt, str) else len(prompt)


def _chunk(ident: str, chat: bool, created: int, model: str, *, i: int, tokens: int) -> bytes:
    piece = f"tok{i} " if i < tokens - 1 else f"tok{i}"
    finish = "length" if i == tokens - 1 else None
    choice: dict[str, Any] = (
        {
            "index": 0,
            "delta": {"content": piece} if i else {"role": "assistant", "content": piece},
            "finish_reason": finish,
        }
        if chat
        else {"index": 0, "text": piece, "finish_reason": finish}
    )
    chunk = {
        "id": ident,
        "object": "chat.completion.chunk" if chat else "text_completion",
        "created": created,
        "model": model,
        "choices": [choice],
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()


class _Upstream:
    def __init__(self, name: str, token_delay_ms: float, fail_status: int) -> None:
        self.name = name
        self.token_delay_ms = token_delay_ms
        self.fail_status = fail_status
        self.stats = Stats()

    def _model(self, body: dict[str, Any]) -> str:
        return f"{body.get('model', 'test')}@{self.name}"

    async def generate(self, request: Request) -> Response:
        stats = self.stats
        stats.requests += 1
        stats.last_headers = dict(request.headers)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": {"message": "bad json"}}, status_code=400)
        stats.last_body = body
        if self.fail_status:
            message = f"test upstream {self.name} fails with {self.fail_status}"
            return JSONResponse({"error": {"message": message}}, status_code=self.fail_status)
        chat = request.url.path.endswith("/chat/completions")
        tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
        delay = float(request.headers.get("x-test-token-delay-ms", self.token_delay_ms)) / 1000
        prompt_tokens = _prompt_words(body)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": tokens,
            "total_tokens": prompt_tokens + tokens,
        }
        ident = f"{'chatcmpl' if chat else 'cmpl'}-{self.name}-{stats.requests}"
        created = int(time.time())
        headers = {"x-upstream-name": self.name}
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = self._events(
                ident,
                chat,
                created,
                self._model(body),
                tokens=tokens,
                delay=delay,
                usage=usage if include_usage else None,
            )
            return StreamingResponse(events, media_type="text/event-stream", headers=headers)
        if delay:
            await anyio.sleep(delay * tokens)
        text = " ".join(f"tok{i}" for i in range(tokens))
        choice: dict[str, Any] = (
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "length",
            }
            if chat
            else {"index": 0, "text": text, "finish_reason": "length"}
        )
        return JSONResponse(
            {
                "id": ident,
                "object": "chat.completion" if chat else "text_completion",
                "created": created,
                "model": self._model(body),
                "choices": [choice],
                "usage": usage,
            },
            headers=headers,
        )

    async def _events(
        self,
        ident: str,
        chat: bool,
        created: int,
        model: str,
        *,
        tokens: int,
        delay: float,
        usage: dict[str, int] | None,
    ) -> AsyncIterator[bytes]:
        stats = self.stats
        stats.streams_in_flight += 1
        finished = False
        try:
            for i in range(tokens):
                if delay:
                    await anyio.sleep(delay)
                yield _chunk(ident, chat, created, model, i=i, tokens=tokens)
            if usage is not None:
                chunk: dict[str, Any] = {
                    "id": ident,
                    "object": "chat.completion.chunk" if chat else "text_completion",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
                yield f"data: {json.dumps(chunk)}\n\n".encode()
            yield b"data: [DONE]\n\n"
            finished = True
        finally:
            stats.streams_in_flight -= 1
            if finished:
                stats.streams_completed += 1
            else:
                stats.streams_cancelled += 1

    async def embeddings(self, request: Request) -> Response:
        self.stats.requests += 1
        self.stats.last_headers = dict(request.headers)
        body = await request.json()
        texts = body.get("input", [])
        texts = [texts] if isinstance(texts, str) else texts
        data = [
            {"object": "embedding", "index": i, "embedding": _embed(str(text))}
            for i, text in enumerate(texts)
        ]
        words = sum(len(str(text).split()) for text in texts)
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": self._model(body),
                "usage": {"prompt_tokens": words, "total_tokens": words},
            },
            headers={"x-upstream-name": self.name},
        )

    async def models(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": "test-model", "object": "model", "created": 0, "owned_by": self.name}
                ],
            }
        )

    async def stats_route(self, _request: Request) -> Response:
        stats = self.stats
        return JSONResponse(
            {
                "name": self.name,
                "requests": stats.requests,
                "streams_in_flight": stats.streams_in_flight,
                "streams_cancelled": stats.streams_cancelled,
                "streams_completed": stats.streams_completed,
                "last_headers": stats.last_headers,
                "last_body": stats.last_body,
            }
        )


def build_app(name: str, token_delay_ms: float = 0.0, fail_status: int = 0) -> Starlette:
    upstream = _Upstream(name, token_delay_ms, fail_status)
    return Starlette(
        routes=[
            Route("/v1/chat/completions", upstream.generate, methods=["POST"]),
            Route("/v1/completions", upstream.generate, methods=["POST"]),
            Route("/v1/embeddings", upstream.embeddings, methods=["POST"]),
            Route("/v1/models", upstream.models, methods=["GET"]),
            Route("/_stats", upstream.stats_route, methods=["GET"]),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fast OpenAI-compatible test upstream.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="test")
    parser.add_argument("--token-delay-ms", type=float, default=0.0)
    parser.add_argument("--fail-status", type=int, default=0)
    args = parser.parse_args(argv)
    uvicorn.run(
        build_app(args.name, args.token_delay_ms, args.fail_status),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
