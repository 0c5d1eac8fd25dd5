"""Before any load: is the target there, and which model versions does it serve?"""

from __future__ import annotations

from typing import Any

import httpx

from llmops_loadtest.errors import LoadtestError

PREFLIGHT_TIMEOUT_S = 10.0


def describe_target(url: str, models_path: str, headers: dict[str, str]) -> dict[str, Any]:
    """``GET {url}{models_path}`` (and vLLM's ``/version`` when there is one).

    Returns ``{"url", "models": [{"id", "root", "created", "owned_by"}], "server_version"}``;
    raises `LoadtestError` when the target does not answer or lists no model.
    """
    base = url.rstrip("/")
    piece = f"target {base}"
    try:
        with httpx.Client(timeout=PREFLIGHT_TIMEOUT_S, headers=headers) as client:
            response = client.get(base + models_path)
            server_version = None
            try:
                version = client.get(base + "/version")
                if version.status_code == 200:
                    server_version = version.json().get("version")
            except (httpx.HTTPError, ValueError, AttributeError):
                server_version = None
    except httpx.HTTPError as err:
        reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        raise LoadtestError(
            piece, f"unreachable ({reason})", "check --target and that the server is up"
        ) from None
    if response.status_code != 200:
        raise LoadtestError(
            piece, f"GET {models_path} answered HTTP {response.status_code}", "check the URL"
        )
    try:
        listed = response.json().get("data") or []
    except (ValueError, AttributeError):
        raise LoadtestError(piece, f"GET {models_path} did not answer JSON") from None
    models = [
        {key: item.get(key) for key in ("id", "root", "created", "owned_by")}
        for item in listed
        if isinstance(item, dict) and item.get("id")
    ]
    if not models:
        raise LoadtestError(piece, f"GET {models_path} lists no model")
    return {"url": base, "models": models, "server_version": server_version}


def pick_model(description: dict[str, Any], wanted: str | None) -> str:
    """The profile's model if the target serves it, else the target's first model."""
    ids = [model["id"] for model in description["models"]]
    if wanted is None:
        return str(ids[0])
    if wanted not in ids:
        raise LoadtestError(
            f"target {description['url']}",
            f"does not serve model {wanted!r} (it serves {', '.join(ids)})",
            "fix 'model' in the profile",
        )
    return wanted
