"""The gateway's error catalogue (pure): each error knows its HTTP status and its
OpenAI-style ``type``/``code``. `llmops_gateway.routers.errors` renders every one of them as::

    {"error": {"message": "...", "type": "...", "param": null, "code": "..."}}

with ``Retry-After`` when `retry_after_s` is set. Types follow OpenAI's: 400
``invalid_request_error``, 401 ``authentication_error``, 403 ``permission_error``,
404 ``not_found_error``, 413 ``invalid_request_error``, 429 ``rate_limit_error``,
502/503/504 ``api_error`` / ``service_unavailable``.
"""

from __future__ import annotations

import math


class GatewayError(Exception):
    """A failure the client should see as one OpenAI-style error body."""

    status: int = 500
    type: str = "api_error"
    code: str = "internal_error"
    # Set once the error is in the metrics, so the app's handler does not count it twice.
    counted: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.param = param
        self.retry_after_s = retry_after_s

    @property
    def retry_after_header(self) -> str | None:
        """Whole seconds, rounded up and at least 1 (``Retry-After: 0`` invites a storm)."""
        if self.retry_after_s is None:
            return None
        return str(max(1, math.ceil(self.retry_after_s)))


class InvalidRequestError(GatewayError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class UnauthenticatedError(GatewayError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class ForbiddenError(GatewayError):
    status = 403
    type = "permission_error"
    code = "model_not_allowed"


class NotFoundError(GatewayError):
    status = 404
    type = "not_found_error"
    code = "not_found"


class BodyTooLargeError(GatewayError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class RateLimitedError(GatewayError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class GuardrailBlockedError(GatewayError):
    status = 400
    type = "invalid_request_error"
    code = "content_policy_violation"


class UpstreamError(GatewayError):
    """The backend answered with an error the gateway cannot fix (relayed as 502)."""

    status = 502
    type = "api_error"
    code = "upstream_error"


class UnavailableError(GatewayError):
    """No backend of the alias could be reached (or Milvus is down)."""

    status = 503
    type = "service_unavailable"
    code = "no_backend_available"


class UpstreamTimeoutError(GatewayError):
    status = 504
    type = "api_error"
    code = "upstream_timeout"


class IngestTimeoutError(GatewayError):
    """An ingest request ran past its stated limit; what it wrote stays (re-send resumes)."""

    status = 504
    type = "api_error"
    code = "ingest_timeout"
