"""The root of Bastion's typed errors.

Domain code raises subclasses with a machine-readable `code`, an HTTP-ish `status`
and a sentence that tells the user what to do; the web layer renders them as
`{"code": ..., "detail": ...}` and the CLI prints the sentence. Nothing here imports
the web layer.
"""

from __future__ import annotations

from typing import Any


class BastionError(Exception):
    """Base class; subclasses set `code` and `status`."""

    code: str = "error"
    status: int = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotFound(BastionError):
    code = "not_found"
    status = 404


class Conflict(BastionError):
    code = "conflict"
    status = 409


class InvalidInput(BastionError):
    code = "invalid_input"
    status = 422


class PermissionDenied(BastionError):
    code = "forbidden"
    status = 403
