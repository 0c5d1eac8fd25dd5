"""Hand-made records for the unit tests."""

from __future__ import annotations

from llmops_loadtest.core.records import ErrorKind, RequestKind, RequestRecord


def ok(
    started_at: float,
    *,
    e2e_s: float = 1.0,
    ttft_s: float = 0.1,
    itl_s: tuple[float, ...] = (0.05, 0.05),
    output_tokens: int = 3,
    input_tokens: int = 10,
    target: str = "target",
) -> RequestRecord:
    tpot = (e2e_s - ttft_s) / (output_tokens - 1) if output_tokens > 1 else None
    return RequestRecord(
        kind=RequestKind.COMPLETION,
        started_at=started_at,
        e2e_s=e2e_s,
        success=True,
        target=target,
        ttft_s=ttft_s,
        itl_s=itl_s,
        tpot_s=tpot,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        tokens_from_usage=True,
        status_code=200,
    )


def failed(
    started_at: float, kind: ErrorKind = ErrorKind.HTTP_5XX, target: str = "target"
) -> RequestRecord:
    return RequestRecord(
        kind=RequestKind.COMPLETION,
        started_at=started_at,
        e2e_s=0.01,
        success=False,
        target=target,
        error_kind=kind,
        error="boom",
        status_code=500 if kind is ErrorKind.HTTP_5XX else 0,
    )
