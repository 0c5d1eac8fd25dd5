"""The one error shape of the local tooling: what went wrong, and the command that fixes it."""

from __future__ import annotations


class LlmopsError(Exception):
    """A user-facing failure. The CLI prints it as one line and exits non-zero.

    `piece` names the part that failed (``go``, ``kube-apiserver``, ``port 16443`` ...),
    `fix` is what the user should run or change. Both are kept short: the whole
    message must read well on one terminal line.
    """

    def __init__(self, piece: str, problem: str, fix: str = "") -> None:
        self.piece = piece
        self.problem = problem
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = f"{self.piece}: {self.problem}"
        return f"{text} (fix: {self.fix})" if self.fix else text
