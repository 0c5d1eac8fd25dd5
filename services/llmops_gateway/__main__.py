"""``python -m llmops_gateway``: serve with settings from the environment."""

from __future__ import annotations

from llmops_gateway.app import serve
from llmops_gateway.settings import GatewaySettings


def main() -> None:
    serve(GatewaySettings())


if __name__ == "__main__":
    main()
