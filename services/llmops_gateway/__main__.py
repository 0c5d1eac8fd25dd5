"""``python -m llmops_gateway``: serve with settings from the environment."""

from __future__ import annotations

import uvicorn

from llmops_gateway.app import create_app
from llmops_gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        timeout_keep_alive=int(settings.keep_alive_timeout_s),
        # One worker per process: limits and usage counters live in its memory.
        workers=1,
    )


if __name__ == "__main__":
    main()
