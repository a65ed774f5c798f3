"""The JSON API's plumbing: OpenAPI document, problem+json errors, bearer-token authentication."""
from __future__ import annotations

import datetime as dt
import http
import re

import marshmallow as ma
from flask import current_app, jsonify, render_template, request
import flask_smorest
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter, IntegerConverter

from labs.db import get_session
from labs.errors import DomainError, TooManyAttempts
from labs.i18n import N_, TAGS, language, render
from labs.schema_messages import translate

PROBLEM = "application/problem+json"
NOT_VALID = N_("the request is not valid")
# The error pages of the pages (the shell's layout, in the reader's language).
PAGE_TITLES = {400: N_("Request refused"), 403: N_("Not allowed"), 404: N_("Not found"),
               405: N_("Not allowed here"), 413: N_("Request too large"), 429: N_("Too many requests")}
PAGE_DETAILS = {
    400: N_("The request could not be understood."), 403: N_("You may not open this page."),
    404: N_("There is no page at this address."), 405: N_("This address does not take that kind of request."),
    413: N_("The request is too large."), 429: N_("Too many requests in a short time. Wait a moment and try again."),
}
# What an HTTP error says when its raiser said nothing of its own (werkzeug's texts are English).
HTTP_DETAILS = {
    400: N_("the request could not be understood"),
    401: N_("sign in or send a valid bearer token"),
    403: N_("you may not do this"),
    404: N_("there is nothing at this address"),
    405: N_("this address does not accept that method"),
    413: N_("the request is too large"),
    415: N_("the request body is not in a format this address reads"),
    429: N_("too many requests: try again later"),
}


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details; `code` (always present, stable) names the problem for programs,
    `detail` and `errors` (field names to messages, 422) are in the Accept-Language language,
    `conflicts` lists the slots in the way (409), `retry_after` is the seconds to wait (429, also
    in Retry-After)."""

    type = ma.fields.String(metadata={"description": "always about:blank: `status` and `code` say what happened"})
    title = ma.fields.String(metadata={"description": "the HTTP status' phrase (Not Found), in English"})
    status = ma.fields.Integer(metadata={"description": "the HTTP status code"})
    detail = ma.fields.String(metadata={"description": "what went wrong, a sentence in the Accept-Language "
                                                       "language, for people; programs match on `code`"})
    code = ma.fields.String(metadata={"description": "the problem's stable name, for programs (statutory_holiday, "
                                                     "slot_taken, not_found, ...)"})
    retry_after = ma.fields.Integer(metadata={"description": "429: seconds to wait before trying again, as in "
                                                             "Retry-After"})
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()), metadata={
        "description": "422: each field refused (nested ones dotted, `_body` for the body as a whole) with its "
                       "messages, in the Accept-Language language"})
    conflicts = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "409: what is in the way: the bookings or assignments holding the time, the rows refused"})
    occurrences = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "409 of a weekly series refused: each week's slot with its problem (null: none)"})


def problem(status: int, detail: str, code: str | None = None, **extra):
    """A problem+json response; `detail` is shown as given (translate it first), `code` defaults to
    the status' name (not_found, method_not_allowed, ...)."""
    body = {"type": "about:blank", "title": http.HTTPStatus(status).phrase, "status": status, "detail": detail,
            "code": code or http.HTTPStatus(status).name.lower()}
    body.update({k: v for k, v in extra.items() if v is not None})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM
    response.headers["Content-Language"] = TAGS.get(language(), "en")
    return response


def _flatten(messages: dict) -> dict[str, list[str]]:
    """webargs' {"json": {"field": [...]}, "query": {...}} as {"field": [...]}, nested paths dotted,
    the messages in the request's language."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out.setdefault(prefix or "_body", []).extend(translate(v) for v in value)
        else:
            out.setdefault(prefix or "_body", []).append(translate(str(value)))

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
        # A field's own metadata (its description, a wider pattern) adds to these, rather than losing them.
        kwargs["metadata"] = {"pattern": self.PATTERN, "example": "300.00", **kwargs.get("metadata", {})}
        super().__init__(places=2, as_string=True, **kwargs)


MAX_ID = 2**31 - 1  # ids are the databases' 32-bit integer columns


class Whole(ma.fields.Integer):
    """A whole number from a client: JSON's 3 (or 3.0), a form's "3". marshmallow's Integer would
    take 2.5 as 2; here it is refused."""

    def _validated(self, value):
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def Id(**kwargs) -> Whole:
    """A record id given by a client: within the integer column, so a huge number is refused with a
    422 instead of overflowing the database driver."""
    return Whole(validate=ma.validate.Range(min=1, max=MAX_ID), **kwargs)


# Names, codes and other one-line values never hold a control character: a newline or CR in a lab's
# name would end a line of its calendar feed, a NUL is refused by PostgreSQL. Multi-line text (a
# sample's description) may hold line breaks and tabs, nothing else below U+0020.
NO_CONTROL_CHARACTERS = N_("control characters (a line break, a tab, ...) are not allowed here")
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
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
    return ma.fields.String(validate=_with(_NoControl(CONTROL_CHARACTERS), validate), **kwargs)


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
            return problem(error.code, render(NOT_VALID), code="invalid", errors=_flatten(data["messages"]))
        status = error.code or 500
        # A message given to abort() or to the exception is ours (translated if catalogued);
        # werkzeug's stock descriptions are English only, so ours stand in for them.
        own = data.get("message") or (error.description if error.description != type(error).description else None)
        detail = own or HTTP_DETAILS.get(status)
        if not request.path.startswith("/api"):
            if status not in PAGE_TITLES:
                return error
            return render_template("error.html", title=render(PAGE_TITLES[status]),
                                   detail=render(own or PAGE_DETAILS[status])), status, error.get_headers()[1:]
        return problem(status, render(detail) if detail else error.name)


_SURROGATE = re.compile("[\ud800-\udfff]")
NUL_REFUSED = N_("a NUL character is not allowed")


def _text_problem(text: str) -> str | None:
    """Why a string from a client cannot be stored: PostgreSQL refuses a NUL character in text, and
    a lone surrogate ("\\ud800" in JSON: half a UTF-16 pair) cannot be encoded as UTF-8 at all."""
    if "\x00" in text:
        return NUL_REFUSED
    if _SURROGATE.search(text):
        return N_("a lone surrogate (half a UTF-16 pair) is not text")
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
    fields = {k: NUL_REFUSED for k, v in request.args.items(multi=True) if "\x00" in k + v}
    if request.is_json:
        fields.update(_bad_text_fields(request.get_json(silent=True)))
    if fields:
        return problem(422, render(NOT_VALID), code="invalid", errors={f: [render(why)] for f, why in fields.items()})
    return None


def has_body() -> bool:
    """Whether the request carries a body: a length, or a chunked one (no length told in advance)."""
    return bool(request.content_length or request.headers.get("Transfer-Encoding"))


def refuse_non_json_body():
    """An operation that reads a JSON body answers 415 to a body of another type: webargs would read
    it as an empty document and report every field as missing, which misleads."""
    if not request.path.startswith("/api") or request.is_json or request.method not in ("POST", "PUT", "PATCH"):
        return None
    if not has_body():
        return None
    view = current_app.view_functions.get(request.endpoint)
    parameters = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    if any(parameter["in"] == "json" for parameter in parameters):
        return problem(415, render(N_("send the body as JSON (Content-Type: application/json)")),
                       code="unsupported_media_type")
    return None


def handle_domain_error(error: DomainError):
    response = problem(error.status, error.detail, code=error.code, **error.extra)
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
        return problem(403, render(N_("your password was reset: choose a new one (POST /api/v1/me/password) first")),
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
    def arguments(self, schema, *args, **kwargs):
        # A schema class would be instantiated by webargs at every request (a fifth of a cached public
        # answer's time); an instance is made once here and only read from then on.
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)

    def errors(self, *codes: int):
        """Document the error responses an operation can give (all problem+json)."""
        def decorate(func):
            for code in codes:
                func = self.alt_response(code, response=http.HTTPStatus(code).name)(func)
            return func
        return decorate

    @staticmethod
    def conditional(func):
        """Document If-None-Match, the ETag header and the 304 as flask-smorest's etag decorator does,
        for a view that answers conditionally itself (werkzeug's make_conditional): that decorator
        answers a 304 by raising, which costs more than the rest of a cached public answer.
        Innermost, under the route's other decorators (they copy the view's documentation)."""
        func._apidoc = {**getattr(func, "_apidoc", {}), "etag": True}
        return func


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


class SecretTokenConverter(BaseConverter):
    """`<secret_token:...>`: a key given out by secrets.token_urlsafe (a taxi ticket's link); anything
    else is not found. The OpenAPI document states the pattern."""

    PATTERN = "[A-Za-z0-9_-]{32,64}"
    regex = PATTERN


class SeriesIdConverter(BaseConverter):
    """`<series_id:...>`: a weekly booking series' key (32 hexadecimal digits); anything else is not
    found. The OpenAPI document states the pattern."""

    PATTERN = "[0-9a-f]{32}"
    regex = PATTERN


# What /api/docs opens with (Markdown): what a program needs before its first call.
API_INTRO = """The bureau's labs, bookings, verification and spot-checks, for programs.

**A token.** `POST /api/v1/auth/token` with `{"email": "...", "password": "..."}` answers
`{"access_token": "...", "expires_in": 2592000}`. Send it with every call as
`Authorization: Bearer <access_token>` (here: the Authorize button). It lasts 30 days;
`DELETE /api/v1/auth/token` ends it sooner. Public operations (the catalog, availability, published
results) need none.

**Bodies** are JSON, sent with `Content-Type: application/json`; another type is refused with 415.

**Errors** are `application/problem+json` (RFC 9457): `status`, `title`, `detail` (a sentence in the
language of `Accept-Language`: `zh-Hans`, `zh-Hant` or `en`) and `code`, a stable name to match on
(`statutory_holiday`, `slot_taken`, ...), never the sentence. A 422 lists `errors` per field, a 409
may list `conflicts`, a 429 says in `retry_after` (and `Retry-After`) how many seconds to wait.

**Times** are RFC 3339 with their UTC offset (`2026-12-03T10:00:00+08:00`); a time sent without an
offset is refused. Read them as instants: a span's start and end carry the same offset. Dates
(`2026-12-03`), weeks (`monday`) and opening hours are the lab's local days and wall-clock times,
in its `timezone` (Asia/Shanghai, Beijing time, unless the lab says otherwise). Working days follow
the State Council's holiday schedule, make-up working days included.
"""


def init_app(app) -> LabsApi:
    app.config.update(
        API_TITLE="labs", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs", OPENAPI_SWAGGER_UI_URL="/static/swagger-ui/",
        API_SPEC_OPTIONS={"info": {"description": API_INTRO}, "components": {"securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer"}}}},
    )
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["certificate_number"] = CertificateNumberConverter
    app.url_map.converters["secret_token"] = SecretTokenConverter
    app.url_map.converters["series_id"] = SeriesIdConverter
    api = LabsApi(app)
    api.register_converter(CertificateNumberConverter,
                           lambda _: {"type": "string", "pattern": f"^{CertificateNumberConverter.PATTERN}$"})
    api.register_converter(SecretTokenConverter,
                           lambda _: {"type": "string", "pattern": f"^{SecretTokenConverter.PATTERN}$"})
    api.register_converter(SeriesIdConverter,
                           lambda _: {"type": "string", "pattern": f"^{SeriesIdConverter.PATTERN}$"})
    api.register_field(Money, "string", "decimal")
    app.register_error_handler(DomainError, handle_domain_error)
    app.before_request(refuse_non_json_body)
    app.before_request(refuse_nul)
    app.before_request(authenticate_bearer)
    app.after_request(challenge_bearer)
    return api
