"""The accounts schemas, shared by the API (labs.accounts.api) and the administrator's pages."""
from __future__ import annotations

import marshmallow as ma

from labs.accounts.models import ROLES


class TokenRequest(ma.Schema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=254))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1024))


class TokenResponse(ma.Schema):
    access_token = ma.fields.String(required=True)
    token_type = ma.fields.String(validate=ma.validate.OneOf(("Bearer",)), required=True)
    expires_in = ma.fields.Integer(required=True, metadata={"description": "seconds until the token expires"})
    password_change_required = ma.fields.Boolean(
        required=True, metadata={"description": "true after a password reset: only POST /api/v1/me/password "
                                                "and the token endpoints answer until a new password is chosen"})


class TokenOut(ma.Schema):
    """One of the caller's tokens: never its secret (only a hash of it is kept)."""

    id = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()
    expires_at = ma.fields.AwareDateTime()
    last_used_at = ma.fields.AwareDateTime(allow_none=True, metadata={"description": "to the minute"})
    current = ma.fields.Boolean(metadata={"description": "the token this request came with"})


class PasswordChange(ma.Schema):
    current_password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1024))
    new_password = ma.fields.String(required=True, validate=ma.validate.Length(min=8, max=1024))


class OneTimePassword(ma.Schema):
    """A password reset's answer: the one-time password to hand to the user, shown only this once."""

    user_id = ma.fields.Integer()
    email = ma.fields.String()
    one_time_password = ma.fields.String()


class EnterpriseOut(ma.Schema):
    id = ma.fields.Integer()
    credit_code = ma.fields.String()
    name = ma.fields.String()


class UserOut(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))
    enterprise = ma.fields.Nested(EnterpriseOut, allow_none=True)
    active = ma.fields.Boolean()
    must_change_password = ma.fields.Boolean()


class UserIn(ma.Schema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(min=3, max=254))
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(min=8, max=1024))
    name = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(ROLES))
    enterprise_code = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=18))
    enterprise_name = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=200))


class NotificationOut(ma.Schema):
    id = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()
    subject = ma.fields.String()
    body = ma.fields.String()
    read_at = ma.fields.AwareDateTime(allow_none=True)
    booking_id = ma.fields.Integer(allow_none=True, metadata={"description": "the booking the notice is about"})


class AuditOut(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.AwareDateTime()
    actor_id = ma.fields.Integer(allow_none=True)
    action = ma.fields.String()
    entity = ma.fields.String()
    entity_id = ma.fields.Integer()
    before = ma.fields.Dict(allow_none=True)
    after = ma.fields.Dict(allow_none=True)


class Page(ma.Schema):
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=10**9))
