"""The JSON API's plumbing: OpenAPI document, problem+json errors, bearer-token authentication."""
from __future__ import annotations

import datetime as dt
import http
import re

import marshmallow as ma
from flask import jsonify, request
import flask_smorest
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter, IntegerConverter

from labs.db import get_session
from labs.errors import DomainError, TooManyAttempts

PROBLEM = "application/problem+json"


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details; `code` names the problem for programs where a status says too
    little, `errors` maps field names to messages (422), `conflicts` lists the slots in the way
    (409), `retry_after` is the seconds to wait (429, also in Retry-After)."""

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    code = ma.fields.String()
    retry_after = ma.fields.Integer()
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))
    conflicts = ma.fields.List(ma.fields.Dict())
    occurrences = ma.fields.List(ma.fields.Dict())


def problem(status: int, detail: str, **extra):
    body = {"type": "about:blank", "title": http.HTTPStatus(status).phrase, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM
    return response


def _flatten(messages: dict) -> dict[str, list[str]]:
    """webargs' {"json": {"field": [...]}, "query": {...}} as {"field": [...]}, nested paths dotted."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out.setdefault(prefix or "_body", []).extend(value)
        else:
            out.setdefault(prefix or "_body", []).append(str(value))

    for location_messages in messages.values():
        walk("", location_messages)
    return out


class Money(ma.fields.Decimal):
    """An amount of yuan, two decimals, 0 to 99,999,999.99 (what a NUMERIC(10, 2) fee rate holds).
    JSON carries it as a string ("300.00") so no float rounding touches it, and the OpenAPI document
    says so (string, format decimal)."""

    PATTERN = r"^(0|[1-9][0-9]{0,7})(\.[0-9]{1,2})?$"

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", ma.validate.Range(min=0, max=10**8, max_inclusive=False))
        kwargs.setdefault("metadata", {"pattern": self.PATTERN, "example": "300.00"})
        super().__init__(places=2, as_string=True, **kwargs)


MAX_ID = 2**31 - 1  # ids are the databases' 32-bit integer columns


def Id(**kwargs) -> ma.fields.Integer:
    """A record id given by a client: within the integer column, so a huge number is refused with a
    422 instead of overflowing the database driver."""
    return ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_ID), **kwargs)


# Names, codes and other one-line values never hold a control character: a newline or CR in a lab's
# name would end a line of its calendar feed, a NUL is refused by PostgreSQL. Multi-line text (a
# sample's description) may hold line breaks and tabs, nothing else below U+0020.
NO_CONTROL_CHARACTERS = "control characters (a line break, a tab, ...) are not allowed here"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class _NoControl(ma.validate.Validator):
    def __init__(self, pattern: re.Pattern):
        self.pattern = pattern

    def __call__(self, value: str) -> str:
        if self.pattern.search(value):
            raise ma.ValidationError(NO_CONTROL_CHARACTERS)
        return value


def _with(check: ma.validate.Validator, validate) -> list:
    return [check] + (list(validate) if isinstance(validate, (list, tuple)) else [validate] if validate else [])


def Line(*, validate=None, **kwargs) -> ma.fields.String:
    """One line of text: a name, a code, a reason; no control characters."""
    return ma.fields.String(validate=_with(_NoControl(_CONTROL), validate), **kwargs)


def Text(*, validate=None, **kwargs) -> ma.fields.String:
    """Text that may span lines (line breaks and tabs), with no other control characters."""
    return ma.fields.String(validate=_with(_NoControl(_CONTROL_IN_TEXT), validate), **kwargs)


# The span of time a client may name. Far-off years mean nothing to a booking calendar, and before
# about 1970 some zones still had local mean time (Shanghai was +08:05:43 until 1901), which no
# RFC 3339 offset can state.
FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(2199, 12, 31)


def CalendarDate(**kwargs) -> ma.fields.Date:
    return ma.fields.Date(validate=ma.validate.Range(min=FIRST_DAY, max=LAST_DAY), **kwargs)


def Moment(**kwargs) -> ma.fields.AwareDateTime:
    """A time with its UTC offset, between FIRST_DAY and LAST_DAY."""
    return ma.fields.AwareDateTime(validate=ma.validate.Range(
        min=dt.datetime.combine(FIRST_DAY, dt.time(), dt.timezone.utc),
        max=dt.datetime.combine(LAST_DAY, dt.time(), dt.timezone.utc)), **kwargs)


class LabsApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        # As flask-smorest does, but error responses are application/problem+json.
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        if "messages" in data:
            return problem(error.code, "the request is not valid", errors=_flatten(data["messages"]))
        if not request.path.startswith("/api"):
            return error  # pages keep Flask's HTML error pages
        return problem(error.code or 500, data.get("message") or error.description or error.name)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text_problem(text: str) -> str | None:
    """Why a string from a client cannot be stored: PostgreSQL refuses a NUL character in text, and
    a lone surrogate ("\\ud800" in JSON: half a UTF-16 pair) cannot be encoded as UTF-8 at all."""
    if "\x00" in text:
        return "a NUL character is not allowed"
    if _SURROGATE.search(text):
        return "a lone surrogate (half a UTF-16 pair) is not text"
    return None


def _bad_text_fields(value, path: str = "") -> dict[str, str]:
    """Where a NUL character or a lone surrogate hides in a JSON value (keys included), and which."""
    if isinstance(value, str):
        why = _text_problem(value)
        return {path or "_body": why} if why else {}
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    found = {}
    for key, sub in items:
        where = f"{path}.{key}" if path else str(key)
        why = _text_problem(str(key))
        if why:
            found[where] = why
        found.update(_bad_text_fields(sub, where))
    return found


def refuse_nul():
    """PostgreSQL refuses a NUL character in text, at the first query that carries it (a 500), and a
    lone surrogate cannot be sent to a database at all: a request holding one is refused at the
    edge, naming the field. No real client sends either."""
    if not request.path.startswith("/api"):
        return None
    fields = {k: "a NUL character is not allowed" for k, v in request.args.items(multi=True) if "\x00" in k + v}
    if request.is_json:
        fields.update(_bad_text_fields(request.get_json(silent=True)))
    if fields:
        return problem(422, "the request is not valid", errors={f: [why] for f, why in fields.items()})
    return None


def handle_domain_error(error: DomainError):
    response = problem(error.status, error.detail, **error.extra)
    if isinstance(error, TooManyAttempts):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


# What a user who must choose a new password (after an administrator's reset) may still do.
PASSWORD_CHANGE_ENDPOINTS = {"accounts.change_password", "accounts.me", "accounts.issue_token",
                             "accounts.revoke_token", "accounts.list_tokens", "accounts.revoke_token_by_id"}


def authenticate_bearer():
    """A bearer token is checked first (see labs.accounts.auth); a user who must change their
    password gets a 403 problem with code password_change_required from everything else."""
    if not request.path.startswith("/api"):
        return None
    from labs.accounts.auth import current_user, resolve_bearer_first
    resolve_bearer_first()
    user = current_user()
    if user is not None and user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        return problem(403, "your password was reset: choose a new one (POST /api/v1/me/password) first",
                       code="password_change_required")
    return None


def challenge_bearer(response):
    """Every 401 of the API says how to authenticate (RFC 6750), and whether the token sent failed."""
    if request.path.startswith("/api") and response.status_code == 401:
        from labs.accounts.auth import bearer_token
        sent = bearer_token() is not None and request.endpoint != "accounts.issue_token"
        response.headers["WWW-Authenticate"] = 'Bearer realm="labs"' + (', error="invalid_token"' if sent else "")
    return response


class Blueprint(flask_smorest.Blueprint):
    def errors(self, *codes: int):
        """Document the error responses an operation can give (all problem+json)."""
        def decorate(func):
            for code in codes:
                func = self.alt_response(code, response=http.HTTPStatus(code).name)(func)
            return func
        return decorate


def committed(value):
    """Commit the request's unit of work and hand back what a route returns."""
    get_session().commit()
    return value


class IdConverter(IntegerConverter):
    """`<int:...>` ids within the database's integer columns: a larger number is not found (404),
    rather than overflowing the database driver (500). The OpenAPI document states the maximum."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


class CertificateNumberConverter(BaseConverter):
    """`<certificate_number:...>`: JD2026-000123 (a certificate) or TZ2026-000007 (a notice of
    failure); anything else is not found. The OpenAPI document states the pattern, so clients (and
    fuzzers) know a number never holds other characters."""

    PATTERN = "[A-Z]{2}[0-9]{4}-[0-9]{6}"
    regex = PATTERN


def init_app(app) -> LabsApi:
    app.config.update(
        API_TITLE="labs", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs", OPENAPI_SWAGGER_UI_URL="/static/swagger-ui/",
        API_SPEC_OPTIONS={"components": {"securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer"}}}},
    )
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["certificate_number"] = CertificateNumberConverter
    api = LabsApi(app)
    api.register_converter(CertificateNumberConverter,
                           lambda _: {"type": "string", "pattern": f"^{CertificateNumberConverter.PATTERN}$"})
    api.register_field(Money, "string", "decimal")
    app.register_error_handler(DomainError, handle_domain_error)
    app.before_request(refuse_nul)
    app.before_request(authenticate_bearer)
    app.after_request(challenge_bearer)
    return api
