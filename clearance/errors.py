"""Domain errors raised by services, rendered by the API as RFC 9457 problem details."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str


class DomainError(Exception):
    """A request the domain refuses. ``status`` is the HTTP status the API answers with."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, extra: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra or {}


class RuleViolations(DomainError):
    status = 400
    code = "validation_error"
    title = "Invalid request"

    def __init__(self, errors: list[FieldError]):
        super().__init__("The request breaks one or more rules; see errors.")
        self.errors = errors


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PreconditionRequired(DomainError):
    status = 428
    code = "precondition_required"
    title = "Precondition required"


class PreconditionFailed(DomainError):
    status = 412
    code = "version_mismatch"
    title = "Precondition failed"


class NotYourForce(DomainError):
    """An officer acting outside their force or role."""

    status = 403
    code = "permission_denied"
    title = "Permission denied"


class CursorExpired(DomainError):
    """A feed cursor older than the events kept."""

    status = 410
    code = "cursor_expired"
    title = "Gone"
