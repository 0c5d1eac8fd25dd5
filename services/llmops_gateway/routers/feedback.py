"""``POST /v1/feedback``: a user's rating of one response, attributed to its revision."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter

from llmops_gateway.deps import CallerDep, RuntimeDep
from llmops_gateway.domain.errors import NotFoundError
from llmops_gateway.schemas import FeedbackRequest

router = APIRouter(tags=["feedback"])


@router.post("/v1/feedback")
async def feedback(body: FeedbackRequest, runtime: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    served = runtime.responses.get(body.response_id)
    if served is None:
        raise NotFoundError(
            f"No recent response has the id {body.response_id!r}.",
            code="response_not_found",
            param="response_id",
        )
    runtime.metrics.feedback.labels(served.alias, served.revision, body.rating).inc()
    record = {
        "object": "feedback",
        "response_id": body.response_id,
        "rating": body.rating,
        "comment": body.comment,
        "model": served.alias,
        "revision": served.revision,
        "team": caller.team,
        "created": int(time.time()),
    }
    await runtime.append_feedback(record)
    return record
