"""What the llmops gateway says it serves: the routing table version on its ``/readyz``
(``{"routing_table": {"version", "sha256"}}``), read before a gate run pinned through it."""

from __future__ import annotations

import httpx

READYZ_TIMEOUT_S = 5.0


def served_table_version(gateway_url: str) -> str | None:
    """The version of the routing table the gateway routes by; None when it does not answer
    (or answers without one: ``/readyz`` gives it with 200 and with 503 alike)."""
    try:
        response = httpx.get(gateway_url.rstrip("/") + "/readyz", timeout=READYZ_TIMEOUT_S)
        version = response.json()["routing_table"]["version"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    return str(version) if version else None
