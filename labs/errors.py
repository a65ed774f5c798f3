"""Domain errors, mapped to application/problem+json responses at the edge."""
from __future__ import annotations


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Invalid(DomainError):
    """Input that parses but breaks a rule; `errors` maps field names to messages."""

    status = 422
    title = "Unprocessable entity"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None, **extra):
        super().__init__(detail, errors=errors or {}, **extra)


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
