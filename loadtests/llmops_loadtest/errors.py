"""The one error shape of the load-test tool: a run that could not happen (exit code 2)."""

from __future__ import annotations


class LoadtestError(Exception):
    """The run could not happen: unreachable target, bad profile or gate, Locust did not start.

    Printed by the CLI as one line, ``piece: problem (fix: ...)``; distinct from a run that
    happened and failed its gate (exit code 1).
    """

    def __init__(self, piece: str, problem: str, fix: str = "") -> None:
        self.piece = piece
        self.problem = problem
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = f"{self.piece}: {self.problem}"
        return f"{text} (fix: {self.fix})" if self.fix else text
