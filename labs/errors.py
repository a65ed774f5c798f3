"""Domain errors, mapped to application/problem+json responses and error pages at the edge.

    raise Conflict(N_("%(day)s is a statutory holiday"), code="statutory_holiday", params={"day": day})

The message is an English msgid marked with N_ (labs.i18n); it is translated into the reader's
language only when shown (`detail`), its params shown in human form (dates and times in the lab's
local time). `code` is the stable name programs match on; each class has a default. Other keyword
arguments (conflicts=..., retry_after=...) are machine-readable extras of the API's problem."""
from __future__ import annotations

import http

from labs.i18n import Message, render, render_in


class DomainError(Exception):
    status = 400
    title = "Bad request"
    code: str | None = None  # None: the status' name (not_found, conflict, ...)

    def __init__(self, message: str, *, code: str | None = None, params: dict | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.params = params or {}
        self.code = code or type(self).code or http.HTTPStatus(self.status).name.lower()
        self._extra = extra

    @property
    def detail(self) -> str:
        """The message in the current request's language (English outside a request)."""
        return render(self.message, self.params)

    @property
    def extra(self) -> dict:
        return self._extra

    @property
    def explained(self) -> str:
        """The message, then each field's on a line of its own: what a command prints when refused."""
        detail, errors = self.detail, self.extra.get("errors", {})
        return "\n".join([detail, *(f"{field}: {'; '.join(messages)}" for field, messages in errors.items()
                                     if messages != [detail])])  # not the message again

    def __str__(self) -> str:
        # Logs and tracebacks read the same in every request's language.
        return render_in("en", self.message, self.params)


class Invalid(DomainError):
    """Input that parses but breaks a rule; `errors` maps field names to messages (N_ msgids,
    formatted with the error's params, or text already shown as it is)."""

    status = 422
    title = "Unprocessable entity"
    code = "invalid"

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.field_messages = errors or {}

    @property
    def errors(self) -> dict[str, list[str]]:
        """The field messages in the current language."""
        return {field: [render(text, self.params if isinstance(text, Message) else None) for text in texts]
                for field, texts in self.field_messages.items()}

    @property
    def extra(self) -> dict:
        return {**self._extra, "errors": self.errors}


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
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int, **kwargs):
        super().__init__(message, retry_after=retry_after, **kwargs)
        self.retry_after = retry_after
