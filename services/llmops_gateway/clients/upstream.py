"""Calls to an upstream OpenAI-compatible server (vLLM), one pooled httpx client for all.

Failure contract, which decides what the caller may do next:
- `BackendUnreachableError`: the request never reached the backend (connection refused, connect
  timeout, or the backend said 503 before doing work): safe to retry on another backend;
- `BackendHTTPError`: the backend answered with an error status; its OpenAI error body is
  kept so the client sees the backend's own message (never retried: it may have done work);
- `UpstreamTimeoutError` (from the domain errors): a phase deadline passed.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import httpx

from llmops_contracts.routing import Backend
from llmops_gateway.domain.errors import UpstreamError, UpstreamTimeoutError


class BackendUnreachableError(Exception):
    """The backend could not take the request; another backend may."""

    def __init__(self, backend: Backend, reason: str) -> None:
        super().__init__(f"{backend.name}: {reason}")
        self.backend = backend
        self.reason = reason


class BackendHTTPError(Exception):
    """The backend answered with an error status."""

    def __init__(self, backend: Backend, status: int, body: dict[str, Any] | None) -> None:
        message = _error_message(body) or f"HTTP {status}"
        super().__init__(f"{backend.name}: {message}")
        self.backend = backend
        self.status = status
        self.body = body
        self.message = message


def _error_message(body: dict[str, Any] | None) -> str:
    if not body:
        return ""
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("message", ""))
    if isinstance(error, str):
        return error
    return str(body.get("message", body.get("detail", "")))


@dataclass(frozen=True)
class PhaseTimeouts:
    """Seconds per phase: connecting, waiting for the first byte/token, the whole call."""

    connect: float
    first_token: float
    total: float


class HttpClients:
    """A few independent httpx clients used in turn.

    Why: httpcore's connection pool scans every connection of the pool for every request
    it queues (and probes each idle socket with a syscall), so one pool serving 50
    concurrent requests spends more CPU on bookkeeping than on the requests. Several small
    pools keep each scan short; keep-alive connections are still reused within a pool.
    """

    def __init__(
        self, timeouts: PhaseTimeouts, keep_alive_s: float, shards: int = 8, connections: int = 64
    ) -> None:
        self._clients = [
            httpx.AsyncClient(
                timeout=httpx.Timeout(
                    connect=timeouts.connect,
                    read=timeouts.first_token,
                    write=timeouts.connect,
                    pool=timeouts.connect,
                ),
                limits=httpx.Limits(
                    max_connections=connections,
                    max_keepalive_connections=connections,
                    # Drop idle connections before the upstream does, so no request is sent
                    # on a connection the server is closing.
                    keepalive_expiry=keep_alive_s,
                ),
                # The gateway sends its own headers; no environment proxies before vLLM.
                trust_env=False,
            )
            for _ in range(shards)
        ]
        self._next = itertools.cycle(self._clients)

    def pick(self) -> httpx.AsyncClient:
        """The next client. Its read timeout is the first-token phase; the total deadline
        is enforced by the caller around the whole exchange (httpx has no overall one)."""
        return next(self._next)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


async def open_response(
    client: httpx.AsyncClient,
    backend: Backend,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
    *,
    stream: bool,
    read_timeout_s: float | None = None,
) -> httpx.Response:
    """POST ``body`` to ``backend.url + path`` and return the response with its status
    checked (a streamed response's body is not read yet; the caller must close it).

    ``read_timeout_s`` replaces the read timeout (the first-token phase by default): a
    non-streamed answer arrives only when the whole generation is done.
    """
    extensions = {}
    if read_timeout_s is not None:
        current = client.timeout
        extensions["timeout"] = httpx.Timeout(
            connect=current.connect, read=read_timeout_s, write=current.write, pool=current.pool
        ).as_dict()
    request = client.build_request(
        "POST", backend.url + path, json=body, headers=headers, extensions=extensions
    )
    try:
        response = await client.send(request, stream=stream)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as err:
        raise BackendUnreachableError(backend, type(err).__name__) from err
    except httpx.RemoteProtocolError as err:
        # Closed before any response: nothing was processed (e.g. the server is stopping).
        raise BackendUnreachableError(backend, f"connection closed: {err}") from err
    except httpx.TimeoutException as err:
        raise UpstreamTimeoutError(f"Backend {backend.name} did not answer in time.") from err
    except httpx.TransportError as err:
        # The request may have reached the backend: not retried elsewhere.
        raise UpstreamError(f"Backend {backend.name} failed: {type(err).__name__}") from err
    if response.status_code < 400:
        return response
    payload = await _read_error_body(response)
    if response.status_code == 503:
        raise BackendUnreachableError(backend, f"503 {_error_message(payload)}")
    raise BackendHTTPError(backend, response.status_code, payload)


async def _read_error_body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        raw = await response.aread()
    finally:
        await response.aclose()
    try:
        value = json.loads(raw)
    except ValueError:
        return {"error": {"message": raw.decode(errors="replace")[:500]}} if raw else None
    return value if isinstance(value, dict) else None


async def get_json(
    client: httpx.AsyncClient, url: str, wait_s: float, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """GET a JSON object (readiness probes, model lists); raises httpx errors."""
    response = await client.get(url, timeout=wait_s, headers=headers)
    response.raise_for_status()
    value = response.json()
    return value if isinstance(value, dict) else {}
