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


class TooManyAttempts(DomainError):
    """Too many failed attempts: wait `retry_after` seconds (sent as Retry-After)."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int, **extra):
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after
