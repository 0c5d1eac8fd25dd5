"""The one error shape of the load-test tool: a run that could not happen (exit code 2)."""

from __future__ import annotations

from llmops_contracts.errors import LlmopsError


class LoadtestError(LlmopsError):
    """The run could not happen: unreachable target, bad profile or gate, Locust did not start.

    Printed by the CLI as one line, ``piece: problem (fix: ...)``; distinct from a run that
    happened and failed its gate (exit code 1).
    """
