"""The accounts schemas, shared by the API (labs.accounts.api) and the administrator's pages."""
from __future__ import annotations

import marshmallow as ma

from labs.accounts.models import ROLES
from labs.accounts.service import MIN_PASSWORD, TOKEN_LIFETIME

ROLE = ("admin: administers users, labs and the bureau's settings; lab_manager: runs their labs and decides "
        "their bookings; technician: works in their labs (check-in, completion) and verifies instruments; "
        "inspector: organises spot-checks and reviews their results; enterprise: books labs and requests "
        "verification for its enterprise")


class TokenRequest(ma.Schema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=254),
                             metadata={"description": "the user's e-mail address, in any case"})
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1024),
                                metadata={"description": "the user's password"})


class TokenResponse(ma.Schema):
    access_token = ma.fields.String(required=True, metadata={
        "description": "send it as `Authorization: Bearer <access_token>`; shown only this once"})
    token_type = ma.fields.String(validate=ma.validate.OneOf(("Bearer",)), required=True,
                                  metadata={"description": "always Bearer"})
    expires_in = ma.fields.Integer(required=True, metadata={"description": "seconds until the token expires"})
    password_change_required = ma.fields.Boolean(
        required=True, metadata={"description": "true after a password reset: only POST /api/v1/me/password "
                                                "and the token endpoints answer until a new password is chosen"})


class TokenOut(ma.Schema):
    """One of the caller's tokens: never its secret (only a hash of it is kept)."""

    id = ma.fields.Integer(metadata={"description": "the token's id, to revoke it by"})
    created_at = ma.fields.AwareDateTime(metadata={"description": "when it was issued"})
    expires_at = ma.fields.AwareDateTime(
        metadata={"description": f"when it stops working, {TOKEN_LIFETIME.days} days after it was issued"})
    last_used_at = ma.fields.AwareDateTime(allow_none=True,
                                           metadata={"description": "when it was last used, to the minute; "
                                                                    "null: never"})
    current = ma.fields.Boolean(metadata={"description": "the token this request came with"})


class PasswordChange(ma.Schema):
    current_password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1024),
                                        metadata={"description": "the password now (or the one-time password)"})
    new_password = ma.fields.String(required=True, validate=ma.validate.Length(min=MIN_PASSWORD, max=1024),
                                    metadata={"description": f"the new one, at least {MIN_PASSWORD} characters"})


class OneTimePassword(ma.Schema):
    """A password reset's answer: the one-time password to hand to the user, shown only this once."""

    user_id = ma.fields.Integer(metadata={"description": "the user whose password was reset"})
    email = ma.fields.String(metadata={"description": "their e-mail address, to sign in with"})
    one_time_password = ma.fields.String(metadata={
        "description": "hand it to the user: it signs in only to choose a new password; shown only this once"})


class EnterpriseOut(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "the enterprise's id"})
    credit_code = ma.fields.String(metadata={"description": "its unified social credit code (18 characters)"})
    name = ma.fields.String(metadata={"description": "its name"})


class UserOut(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "the user's id"})
    email = ma.fields.String(metadata={"description": "their e-mail address (lower case), to sign in with"})
    name = ma.fields.String(metadata={"description": "their name as shown to others"})
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES), metadata={"description": ROLE})
    enterprise = ma.fields.Nested(EnterpriseOut, allow_none=True,
                                  metadata={"description": "the enterprise an enterprise user acts for; null: staff"})
    active = ma.fields.Boolean(metadata={"description": "false: deactivated, they cannot sign in"})
    must_change_password = ma.fields.Boolean(
        metadata={"description": "their password was reset: they must choose a new one before anything else"})


class UserIn(ma.Schema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(min=3, max=254),
                             metadata={"description": "their e-mail address, unique; kept in lower case"})
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(min=MIN_PASSWORD, max=1024),
                                metadata={"description": f"their first password, at least {MIN_PASSWORD} characters"})
    name = ma.fields.String(load_default="", validate=ma.validate.Length(max=200),
                            metadata={"description": "their name; empty: the e-mail address"})
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(ROLES), metadata={"description": ROLE})
    enterprise_code = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=18),
                                       metadata={"description": "the unified social credit code of their "
                                                                "enterprise: required for the enterprise role, "
                                                                "refused for the others"})
    enterprise_name = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=200),
                                       metadata={"description": "the enterprise's name, needed when its credit "
                                                                "code is new here; null: an enterprise known"})


class NotificationOut(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "the notice's id"})
    created_at = ma.fields.AwareDateTime(metadata={"description": "when it was sent"})
    subject = ma.fields.String(metadata={"description": "one line, in the language the recipient chose"})
    body = ma.fields.String(metadata={"description": "the notice, in the same language"})
    read_at = ma.fields.AwareDateTime(allow_none=True,
                                      metadata={"description": "when the recipient saw it; null: unread"})
    booking_id = ma.fields.Integer(allow_none=True, metadata={"description": "the booking the notice is about"})


class AuditOut(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "the entry's id, in the order of the changes"})
    at = ma.fields.AwareDateTime(metadata={"description": "when the change was made"})
    actor_id = ma.fields.Integer(allow_none=True, metadata={
        "description": "the user who made it; null: the system (the command line, a scheduled job)"})
    action = ma.fields.String(metadata={"description": "what was done: the kind of record and the deed "
                                                       "(booking.approve, user.create, ...)"})
    entity = ma.fields.String(metadata={"description": "the kind of record changed (booking, lab, user, ...)"})
    entity_id = ma.fields.Integer(metadata={"description": "the id of the record changed"})
    before = ma.fields.Dict(allow_none=True, metadata={
        "description": "the record's fields the change concerns, as they were; null: none (a new record, "
                       "an event)"})
    after = ma.fields.Dict(allow_none=True, metadata={
        "description": "those fields as the change left them; null: none (a record removed, an event)"})


class Page(ma.Schema):
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000),
                              metadata={"description": "at most this many"})
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=10**9),
                               metadata={"description": "how many to skip first (users by id, notices and the audit "
                                                       "trail newest first)"})
