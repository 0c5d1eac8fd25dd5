"""A scripted OpenAI-compatible upstream for tests and the load-generator benchmark.

It is not a model: it streams ``max_tokens`` placeholder tokens (``tok0 tok1 ...``) after
``--ttft-s``, ``--itl-s`` apart, fails ``--error-rate`` of requests with HTTP 500, and counts
what it served at ``GET /stats`` so tests can check a report's counts exactly. With
``--ttft-per-inflight-s`` the first token waits that much longer for every other request in
flight, so latency grows with load the way a saturating server's does (sweeps find a knee).
Plain asyncio and the standard library, fast enough that the load generator is the bottleneck.

Run: ``python -m llmops_loadtest.testing.sse_upstream --port 0`` prints
``listening on http://127.0.0.1:PORT`` once ready.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
from dataclasses import dataclass, field
from typing import Any

MODEL = "scripted-upstream"


@dataclass
class Script:
    ttft_s: float = 0.0
    itl_s: float = 0.0
    error_rate: float = 0.0
    seed: int = 0
    ttft_per_inflight_s: float = 0.0
    in_flight: int = 0
    rng: random.Random = field(init=False)
    stats: dict[str, int] = field(
        default_factory=lambda: {
            "requests": 0,
            "errors": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "max_in_flight": 0,
        }
    )

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 -- scripted failures, not secrets

    def first_token_delay_s(self) -> float:
        """``ttft_s``, plus ``ttft_per_inflight_s`` for each other request being served."""
        return self.ttft_s + self.ttft_per_inflight_s * max(self.in_flight - 1, 0)


def _response(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def _chunk(payload: dict[str, Any]) -> bytes:
    data = b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _prompt_tokens(request: dict[str, Any]) -> int:
    if "messages" in request:
        text = " ".join(str(message.get("content", "")) for message in request["messages"])
    else:
        text = str(request.get("prompt") or request.get("query") or "")
    return max(len(text.split()), 1)


async def _complete(
    writer: asyncio.StreamWriter, script: Script, path: str, request: dict[str, Any]
) -> None:
    script.in_flight += 1
    script.stats["max_in_flight"] = max(script.stats["max_in_flight"], script.in_flight)
    try:
        await _generate(writer, script, path, request)
    finally:
        script.in_flight -= 1


async def _generate(
    writer: asyncio.StreamWriter, script: Script, path: str, request: dict[str, Any]
) -> None:
    script.stats["requests"] += 1
    if script.rng.random() < script.error_rate:
        script.stats["errors"] += 1
        error = {"error": {"message": "scripted failure", "type": "server_error", "code": 500}}
        writer.write(_response("500 Internal Server Error", json.dumps(error).encode()))
        return
    chat = path.endswith("/chat/completions")
    prompt_tokens = _prompt_tokens(request)
    tokens = int(request.get("max_tokens") or 16)
    script.stats["prompt_tokens"] += prompt_tokens
    script.stats["completion_tokens"] += tokens
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": tokens,
        "total_tokens": prompt_tokens + tokens,
    }
    texts = [f" tok{i}" for i in range(tokens)]
    if not request.get("stream"):
        await asyncio.sleep(script.first_token_delay_s() + script.itl_s * max(tokens - 1, 0))
        text = "".join(texts)
        answer: dict[str, Any] = (
            {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
        )
        body = {"id": "cmpl-scripted", "model": MODEL, "choices": [answer], "usage": usage}
        writer.write(_response("200 OK", json.dumps(body).encode()))
        return
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
    )
    for index, text in enumerate(texts):
        delay = script.first_token_delay_s() if index == 0 else script.itl_s
        if delay > 0:
            await writer.drain()
            await asyncio.sleep(delay)
        choice: dict[str, Any] = (
            {"index": 0, "delta": {"content": text}} if chat else {"index": 0, "text": text}
        )
        writer.write(_chunk({"id": "cmpl-scripted", "model": MODEL, "choices": [choice]}))
    if (request.get("stream_options") or {}).get("include_usage"):
        writer.write(_chunk({"id": "cmpl-scripted", "model": MODEL, "choices": [], "usage": usage}))
    done = b"data: [DONE]\n\n"
    writer.write(f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n")


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


async def _route(
    writer: asyncio.StreamWriter, script: Script, method: str, path: str, body: bytes
) -> None:
    if method == "GET" and path == "/v1/models":
        models = {"object": "list", "data": [{"id": MODEL, "object": "model", "root": MODEL}]}
        writer.write(_response("200 OK", json.dumps(models).encode()))
    elif method == "GET" and path == "/stats":
        writer.write(_response("200 OK", json.dumps(script.stats).encode()))
    elif method == "POST" and path in {"/v1/completions", "/v1/chat/completions"}:
        await _complete(writer, script, path, json.loads(body or b"{}"))
    elif method == "POST" and path in {"/v1/rag/query", "/v1/ingest"}:
        script.stats["requests"] += 1
        await asyncio.sleep(script.ttft_s)
        writer.write(_response("200 OK", json.dumps(_rag_answer(path, body)).encode()))
    else:
        writer.write(_response("404 Not Found", b'{"error":{"message":"not found"}}'))


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, script: Script
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            body = await reader.readexactly(length) if length else b""
            await _route(writer, script, method, path.split("?", 1)[0], body)
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
    args = parser.parse_args(argv)
    script = Script(
        ttft_s=args.ttft_s,
        itl_s=args.itl_s,
        error_rate=args.error_rate,
        seed=args.seed,
        ttft_per_inflight_s=args.ttft_per_inflight_s,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(script, args.host, args.port))


if __name__ == "__main__":
    main()
