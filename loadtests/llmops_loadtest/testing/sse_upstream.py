"""The one scripted OpenAI-compatible upstream for tests and benchmarks. It is not a model.

Used by the load-test tests and ``llmops bench loadgen`` (a target whose latency is
scripted), and by the gateway's integration tests and ``llmops bench gateway`` (backends for
routing, fallback, reload, cancellation and bad-input tests; an upstream whose own latency is
known and tiny). Plain asyncio and the standard library, fast enough that the client or the
gateway in front is the bottleneck, and importable anywhere (no dependency at all).

What it answers:

- ``POST /v1/chat/completions`` and ``/v1/completions``: ``max_tokens`` placeholder tokens
  (``tok0 tok1 ...``), streamed (SSE) or not, with honest usage (words); streams end with
  ``[DONE]`` and carry usage when ``stream_options.include_usage`` asks;
- ``POST /v1/embeddings``: bag-of-words vectors (hashed words, L2-normalised), so texts that
  share words are close: enough for retrieval tests without a model;
- ``POST /v1/rag/query`` and ``/v1/ingest``: the llmops gateway's answer shapes, fixed;
- ``GET /v1/models``; ``GET /stats``: requests, errors, tokens, the most in flight, streams
  in flight / completed / cancelled by the client, non-streamed answers completed /
  cancelled (the client hung up while one was being made), and the last request's headers
  and body
  (to check ``traceparent`` propagation and what a gateway sent).

Script: ``--ttft-s`` before the first token, ``--itl-s`` between tokens (the request header
``x-test-token-delay-ms`` sets both for one request); ``--ttft-per-inflight-s`` more first-
token wait per other request in flight, so latency grows with load like a saturating
server's (sweeps find a knee); ``--error-rate`` of generations fail with HTTP 500,
``--fail-status`` makes every generation fail with that status (503 is "unreachable" to the
gateway, 500 a backend error); ``--embed-delay-s`` before every embeddings answer (a slow
embedder, for ingest bounds); ``--name`` is echoed as the ``model`` suffix (``m@name``) and
the ``x-upstream-name`` header, so a test sees which backend served.

Run: ``python -m llmops_loadtest.testing.sse_upstream --port 0`` prints
``listening on http://127.0.0.1:PORT`` once ready.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

MODEL = "scripted-upstream"
EMBED_DIM = 384
DELAY_HEADER = "x-test-token-delay-ms"


@dataclass
class Script:
    ttft_s: float = 0.0
    itl_s: float = 0.0
    error_rate: float = 0.0
    seed: int = 0
    ttft_per_inflight_s: float = 0.0
    name: str = "scripted"
    fail_status: int = 0
    embed_delay_s: float = 0.0
    in_flight: int = 0
    rng: random.Random = field(init=False)
    stats: dict[str, int] = field(
        default_factory=lambda: {
            "requests": 0,
            "errors": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "max_in_flight": 0,
            "streams_in_flight": 0,
            "streams_completed": 0,
            "streams_cancelled": 0,
            "answers_completed": 0,
            "answers_cancelled": 0,
            "embedded_texts": 0,
        }
    )
    last_headers: dict[str, str] = field(default_factory=dict)
    last_body: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 -- scripted failures, not secrets

    def first_token_delay_s(self) -> float:
        """``ttft_s``, plus ``ttft_per_inflight_s`` for each other request being served."""
        return self.ttft_s + self.ttft_per_inflight_s * max(self.in_flight - 1, 0)

    def report(self) -> dict[str, Any]:
        return {
            "name": self.name,
            **self.stats,
            "last_headers": self.last_headers,
            "last_body": self.last_body,
        }


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    # The connection, to see a client hang up while a non-streamed answer is "generated".
    reader: asyncio.StreamReader | None = field(default=None, compare=False)


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


def _response(
    status: int, body: bytes, content_type: str = "application/json", name: str = ""
) -> bytes:
    extra = f"x-upstream-name: {name}\r\n" if name else ""
    head = (
        f"HTTP/1.1 {_status_line(status)}\r\nContent-Type: {content_type}\r\n{extra}"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def _json(status: int, value: Any, name: str = "") -> bytes:
    return _response(status, json.dumps(value).encode(), name=name)


def _chunk(payload: dict[str, Any] | str) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    data = b"data: " + text.encode() + b"\n\n"
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def embed(text: str, dim: int = EMBED_DIM) -> list[float]:
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


def _prompt_tokens(request: dict[str, Any]) -> int:
    if "messages" in request:
        text = " ".join(str(message.get("content", "")) for message in request["messages"])
    else:
        prompt = request.get("prompt") or request.get("query") or ""
        if isinstance(prompt, list) and not all(isinstance(item, str) for item in prompt):
            return max(len(prompt), 1)  # token ids
        text = " ".join(prompt) if isinstance(prompt, list) else str(prompt)
    return max(len(text.split()), 1)


def _piece(i: int, tokens: int) -> str:
    return f"tok{i} " if i < tokens - 1 else f"tok{i}"


def _choice(chat: bool, *, i: int, tokens: int, stream: bool) -> dict[str, Any]:
    finish = "length" if i == tokens - 1 else None
    if not stream:
        text = " ".join(f"tok{n}" for n in range(tokens))
        if chat:
            message = {"role": "assistant", "content": text}
            return {"index": 0, "message": message, "finish_reason": "length"}
        return {"index": 0, "text": text, "finish_reason": "length"}
    piece = _piece(i, tokens)
    if chat:
        delta = {"content": piece} if i else {"role": "assistant", "content": piece}
        return {"index": 0, "delta": delta, "finish_reason": finish}
    return {"index": 0, "text": piece, "finish_reason": finish}


async def _generate(writer: asyncio.StreamWriter, script: Script, request: _Request) -> None:
    script.in_flight += 1
    script.stats["max_in_flight"] = max(script.stats["max_in_flight"], script.in_flight)
    try:
        await _answer(writer, script, request)
    finally:
        script.in_flight -= 1


async def _answer(writer: asyncio.StreamWriter, script: Script, request: _Request) -> None:
    stats, name = script.stats, script.name
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        writer.write(_json(400, {"error": {"message": "bad json"}}))
        return
    script.last_body = body
    if script.fail_status or script.rng.random() < script.error_rate:
        stats["errors"] += 1
        status = script.fail_status or 500
        message = f"test upstream {name} fails with {status}"
        error = {"error": {"message": message, "type": "server_error", "code": status}}
        writer.write(_json(status, error, name))
        return
    chat = request.path.endswith("/chat/completions")
    prompt_tokens = _prompt_tokens(body)
    tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
    stats["prompt_tokens"] += prompt_tokens
    stats["completion_tokens"] += tokens
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": tokens,
        "total_tokens": prompt_tokens + tokens,
    }
    ttft_s, itl_s = script.first_token_delay_s(), script.itl_s
    if DELAY_HEADER in request.headers:
        ttft_s = itl_s = float(request.headers[DELAY_HEADER]) / 1000
    head = {
        "id": f"{'chatcmpl' if chat else 'cmpl'}-{name}-{stats['requests']}",
        "object": "chat.completion.chunk" if chat else "text_completion",
        "created": int(time.time()),
        "model": f"{body.get('model', MODEL)}@{name}",
    }
    if not body.get("stream"):
        if not await _generating(request.reader, ttft_s + itl_s * max(tokens - 1, 0)):
            stats["answers_cancelled"] += 1  # the client hung up: stop, as vLLM aborts
            return
        stats["answers_completed"] += 1
        answer = {
            **head,
            "object": "chat.completion" if chat else "text_completion",
            "choices": [_choice(chat, i=0, tokens=tokens, stream=False)],
            "usage": usage,
        }
        writer.write(_json(200, answer, name))
        return
    await _stream(
        writer,
        script,
        head,
        chat=chat,
        tokens=tokens,
        delays=(ttft_s, itl_s),
        usage=usage,
        body=body,
    )


async def _generating(reader: asyncio.StreamReader | None, seconds: float) -> bool:
    """Wait ``seconds`` for a non-streamed answer; False if the client hung up meanwhile."""
    if reader is None or seconds <= 0:
        await asyncio.sleep(seconds)
        return True
    hang_up = asyncio.ensure_future(reader.read(1))  # the client sends nothing until answered
    done, _ = await asyncio.wait({hang_up}, timeout=seconds)
    if not done:
        hang_up.cancel()
        return True
    return bool(hang_up.result())


async def _stream(
    writer: asyncio.StreamWriter,
    script: Script,
    head: dict[str, Any],
    *,
    chat: bool,
    tokens: int,
    delays: tuple[float, float],
    usage: dict[str, int],
    body: dict[str, Any],
) -> None:
    stats = script.stats
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        + f"x-upstream-name: {script.name}\r\n".encode()
        + b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
    )
    stats["streams_in_flight"] += 1
    finished = False
    try:
        for i in range(tokens):
            delay = delays[0] if i == 0 else delays[1]
            if delay > 0:
                await writer.drain()  # raises once the client has gone away
                await asyncio.sleep(delay)
            choice = _choice(chat, i=i, tokens=tokens, stream=True)
            writer.write(_chunk({**head, "choices": [choice]}))
        if (body.get("stream_options") or {}).get("include_usage"):
            writer.write(_chunk({**head, "choices": [], "usage": usage}))
        writer.write(_chunk("[DONE]") + b"0\r\n\r\n")
        await writer.drain()
        finished = True
    finally:
        stats["streams_in_flight"] -= 1
        stats["streams_completed" if finished else "streams_cancelled"] += 1


def _embeddings(script: Script, request: _Request) -> bytes:
    body = json.loads(request.body or b"{}")
    script.last_body = body
    texts = body.get("input", [])
    texts = [texts] if isinstance(texts, str) else texts
    data = [
        {"object": "embedding", "index": i, "embedding": embed(str(text))}
        for i, text in enumerate(texts)
    ]
    words = sum(len(str(text).split()) for text in texts)
    script.stats["embedded_texts"] += len(texts)
    answer = {
        "object": "list",
        "data": data,
        "model": f"{body.get('model', MODEL)}@{script.name}",
        "usage": {"prompt_tokens": words, "total_tokens": words},
    }
    return _json(200, answer, script.name)


def _rag_answer(path: str, body: bytes) -> dict[str, Any]:
    """The llmops gateway's answer shapes, with one fixed citation (the real one is tested
    against the gateway itself)."""
    request = json.loads(body or b"{}")
    if path == "/v1/ingest":
        documents = [
            {"document": doc.get("name"), "status": "added", "chunks": 1, "upserted": 1}
            for doc in request.get("documents", [])
        ]
        return {"object": "ingest.report", "documents": documents}
    citation = {"index": 1, "document": "scripted.txt", "chunk": 0, "score": 1.0, "text": "-"}
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    return {"answer": "scripted", "citations": [citation], "usage": usage}


async def _route(writer: asyncio.StreamWriter, script: Script, request: _Request) -> None:
    method, path = request.method, request.path
    if method == "GET" and path == "/v1/models":
        model = {"id": MODEL, "object": "model", "root": MODEL, "owned_by": script.name}
        writer.write(_json(200, {"object": "list", "data": [model]}))
        return
    if method == "GET" and path == "/stats":
        writer.write(_json(200, script.report()))
        return
    if method != "POST" or path not in _POSTS:
        writer.write(_response(404, b'{"error":{"message":"not found"}}'))
        return
    script.stats["requests"] += 1
    script.last_headers = request.headers
    if path in {"/v1/completions", "/v1/chat/completions"}:
        await _generate(writer, script, request)
    elif path == "/v1/embeddings":
        if script.embed_delay_s > 0:
            await asyncio.sleep(script.embed_delay_s)  # an embedder that takes its time
        writer.write(_embeddings(script, request))
    else:
        await asyncio.sleep(script.ttft_s)
        writer.write(_json(200, _rag_answer(path, request.body)))


_POSTS = frozenset(
    {"/v1/completions", "/v1/chat/completions", "/v1/embeddings", "/v1/rag/query", "/v1/ingest"}
)


async def _read_request(reader: asyncio.StreamReader) -> _Request:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return _Request(method, target.split("?", 1)[0], headers, body, reader)


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, script: Script
) -> None:
    try:
        while True:
            await _route(writer, script, await _read_request(reader))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def serve(script: Script, host: str, port: int) -> None:
    server = await asyncio.start_server(
        lambda r, w: _serve_connection(r, w, script), host, port, backlog=1024
    )
    bound = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"listening on http://{host}:{bound}\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttft-s", type=float, default=0.0)
    parser.add_argument("--itl-s", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ttft-per-inflight-s", type=float, default=0.0)
    parser.add_argument("--name", default="scripted")
    parser.add_argument("--fail-status", type=int, default=0)
    parser.add_argument("--embed-delay-s", type=float, default=0.0)
    args = parser.parse_args(argv)
    script = Script(
        ttft_s=args.ttft_s,
        itl_s=args.itl_s,
        error_rate=args.error_rate,
        seed=args.seed,
        ttft_per_inflight_s=args.ttft_per_inflight_s,
        name=args.name,
        fail_status=args.fail_status,
        embed_delay_s=args.embed_delay_s,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(script, args.host, args.port))


if __name__ == "__main__":
    main()
