"""Errors an operation raises to refuse a request; messages are for the user (Chinese)."""

from __future__ import annotations


class OperationError(Exception):
    """Base: the request was refused and nothing changed."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(OperationError):
    status = 422
    code = "validation_failed"


class Forbidden(OperationError):
    status = 403
    code = "forbidden"


class NotFound(OperationError):
    status = 404
    code = "not_found"


class Conflict(OperationError):
    """The thing changed underneath: already handled, claimed by someone else, stale."""

    status = 409
    code = "conflict"


class ProcessStepFailed(OperationError):
    """A script, condition or service task of the process failed while a click ran it: the click
    is refused whole (nothing is written) and the person is told which step failed."""

    status = 422
    code = "process_step_failed"
