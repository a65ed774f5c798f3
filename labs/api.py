"""The JSON API's plumbing: OpenAPI document, problem+json errors, bearer-token authentication."""
from __future__ import annotations

import http

import marshmallow as ma
from flask import jsonify, request
import flask_smorest
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from labs.errors import DomainError

PROBLEM = "application/problem+json"


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details; `errors` maps field names to messages (422), `conflicts` lists the
    slots in the way (409)."""

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
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


def handle_domain_error(error: DomainError):
    return problem(error.status, error.detail, **error.extra)


class Blueprint(flask_smorest.Blueprint):
    def errors(self, *codes: int):
        """Document the error responses an operation can give (all problem+json)."""
        def decorate(func):
            for code in codes:
                func = self.alt_response(code, response=http.HTTPStatus(code).name)(func)
            return func
        return decorate


def init_app(app) -> LabsApi:
    app.config.update(
        API_TITLE="labs", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs", OPENAPI_SWAGGER_UI_URL="/static/swagger-ui/",
        API_SPEC_OPTIONS={"components": {"securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer"}}}},
    )
    api = LabsApi(app)
    app.register_error_handler(DomainError, handle_domain_error)
    return api
