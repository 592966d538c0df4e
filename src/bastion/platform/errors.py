"""Typed failures of a platform call.

Callers decide *what to do next* from the exception type alone:

* :class:`PlatformUnavailable` -- transient (network trouble, timeouts, 5xx,
  429). Retry later with the **same** idempotency key; the platform may
  already have applied the action.
* :class:`PlatformRejected` -- permanent (4xx). Retrying the same request will
  not help; surface the platform's message to a human.
* :class:`NotFoundOnPlatform` -- a permanent rejection that callers usually
  want to handle separately (content already gone, account deleted).
* :class:`PlatformResponseInvalid` -- the platform answered 2xx but broke the
  contract (bad JSON, missing fields). A bug on one side; not retryable.
"""

from __future__ import annotations

__all__ = [
    "NotFoundOnPlatform",
    "PlatformError",
    "PlatformRejected",
    "PlatformResponseInvalid",
    "PlatformUnavailable",
]


class PlatformError(Exception):
    """Base class for every failure raised by a platform connector.

    ``status_code`` and ``code`` are ``None`` when no HTTP response was
    received (e.g. connection refused). ``request_id`` echoes the platform's
    ``X-Request-Id`` so a platform engineer can find the request in their logs.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [self.message]
        if self.status_code is not None:
            parts.append(f"status={self.status_code}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts) if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})"


class PlatformUnavailable(PlatformError):
    """Transient failure; the caller should retry with the same idempotency key.

    ``retry_after`` carries the platform's ``Retry-After`` hint in seconds,
    when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, code=code, request_id=request_id)
        self.retry_after = retry_after


class PlatformRejected(PlatformError):
    """Permanent refusal (4xx). ``message`` is the platform's own explanation."""


class NotFoundOnPlatform(PlatformRejected):
    """The account or content id does not exist (or no longer exists) on the platform."""


class PlatformResponseInvalid(PlatformError):
    """The platform returned a success status but a body that breaks the contract."""
