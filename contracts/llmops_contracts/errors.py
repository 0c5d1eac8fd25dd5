"""The one error base of every llmops component: what went wrong, and how to fix it.

Each component subclasses `LlmopsError` for its own failures (the local tooling raises it
as it is; the load-test tool has `LoadtestError`, the operator its registry errors), so the
`llmops` CLI prints any of them the same way: one line on stderr and exit code 2. Pure: no
dependency at all, so every distribution can import it.
"""

from __future__ import annotations


class LlmopsError(Exception):
    """A failure a person can act on, readable as one line (`str()` is `one_line()`).

    - `piece`: the part that failed (``go``, ``port 16443``, ``--mlflow-model``,
      ``MLflow at http://...``); may be empty when the problem says it all;
    - `problem`: what is wrong with it;
    - `fix`: what to run or change (may be empty).

    ``piece: problem (fix: fix)``: keep each part short, so the whole reads well on a
    terminal line, in a Kubernetes condition or in a log record. A subclass may take other
    constructor arguments (an HTTP status, a retry delay), as long as it passes these three up.
    """

    def __init__(self, piece: str, problem: str, fix: str = "") -> None:
        self.piece = piece
        self.problem = problem
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = f"{self.piece}: {self.problem}" if self.piece else self.problem
        return f"{text} (fix: {self.fix})" if self.fix else text
