"""Reading a trace back from Jaeger's query API, for the trace tests of every tier."""

from __future__ import annotations

import time
from typing import Any

import httpx


def read_trace(
    query_url: str, trace_id: str, wanted: set[tuple[str, str]], *, timeout_s: float = 60.0
) -> dict[str, Any]:
    """The trace once it holds every (service, operation) of ``wanted``: each process
    exports in batches of its own, and an operation name alone is not enough (vLLM's
    embedder makes an ``llm_request`` span too)."""
    deadline = time.monotonic() + timeout_s
    seen: set[tuple[str, str]] = set()
    while time.monotonic() < deadline:
        response = httpx.get(f"{query_url}/api/traces/{trace_id}", timeout=10)
        if response.status_code == 200:
            [found] = response.json()["data"]
            services = {key: p["serviceName"] for key, p in found["processes"].items()}
            seen = {(services[s["processID"]], s["operationName"]) for s in found["spans"]}
            if wanted <= seen:
                return dict(found)
        time.sleep(0.5)
    raise AssertionError(f"Jaeger has {sorted(seen)} of trace {trace_id}, wanted {sorted(wanted)}")
