"""``POST /v1/feedback``: a user's rating of one response, attributed to its revision."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from llmops_gateway.domain.schemas import FeedbackRequest
from llmops_gateway.routers.deps import CallerDep, ServicesDep
from llmops_gateway.routers.render import feedback_json

router = APIRouter(tags=["feedback"])


@router.post("/v1/feedback")
async def feedback(
    body: FeedbackRequest, services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    return feedback_json(await services.feedback.rate(caller, body))
