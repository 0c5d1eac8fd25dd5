"""User ratings of a response, attributed to the alias and revision that answered it."""

from __future__ import annotations

import dataclasses
import time

from llmops_gateway.clients.feedback_log import FeedbackLog
from llmops_gateway.domain.errors import NotFoundError
from llmops_gateway.domain.results import FeedbackRecord
from llmops_gateway.domain.schemas import FeedbackRequest
from llmops_gateway.services.accounting import Accounting, ResponseLog
from llmops_gateway.services.governance import Caller


class Feedback:
    def __init__(self, responses: ResponseLog, log: FeedbackLog, accounting: Accounting) -> None:
        self._responses = responses
        self._log = log
        self._accounting = accounting

    async def rate(self, caller: Caller, request: FeedbackRequest) -> FeedbackRecord:
        served = self._responses.get(request.response_id)
        if served is None:
            raise NotFoundError(
                f"No recent response has the id {request.response_id!r}.",
                code="response_not_found",
                param="response_id",
            )
        self._accounting.rated(served, request.rating)
        record = FeedbackRecord(
            response_id=request.response_id,
            rating=request.rating,
            comment=request.comment,
            model=served.alias,
            revision=served.revision,
            team=caller.team,
            created=int(time.time()),
        )
        await self._log.append({"object": "feedback", **dataclasses.asdict(record)})
        return record
