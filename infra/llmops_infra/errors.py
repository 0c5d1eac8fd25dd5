"""The local tooling's errors: the one base, `llmops_contracts.errors.LlmopsError`, raised as
it is (the CLI prints it as one line and exits non-zero).

`piece` names the part that failed (``go``, ``kube-apiserver``, ``port 16443`` ...), `fix` is
what the user should run or change.
"""

from __future__ import annotations

from llmops_contracts.errors import LlmopsError

__all__ = ["LlmopsError"]
