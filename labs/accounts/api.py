"""/api/v1: tokens, the caller, users, notifications, the audit log."""
from __future__ import annotations

import marshmallow as ma
from sqlalchemy import select

from labs.accounts import service
from labs.accounts.auth import current_user
from labs.accounts.models import ROLES, User
from labs.api import Blueprint
from labs.audit import AuditEntry
from labs.db import get_session
from labs.notify import Notification

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Accounts and tokens")
BEARER = [{"bearerAuth": []}]


class TokenRequest(ma.Schema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=254))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1024))


class TokenResponse(ma.Schema):
    access_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True)


class EnterpriseOut(ma.Schema):
    id = ma.fields.Integer()
    credit_code = ma.fields.String()
    name = ma.fields.String()


class UserOut(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String()
    enterprise = ma.fields.Nested(EnterpriseOut, allow_none=True)


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


@blp.route("/auth/token", methods=["POST"])
@blp.arguments(TokenRequest)
@blp.response(200, TokenResponse)
@blp.errors(401)
def issue_token(body):
    """Exchange e-mail and password for a bearer token."""
    db = get_session()
    user = service.authenticate(db, body["email"], body["password"])
    token = service.issue_token(db, user)
    db.commit()
    return {"access_token": token, "token_type": "Bearer"}


@blp.route("/me", methods=["GET"])
@blp.response(200, UserOut)
@blp.errors(401)
@blp.doc(security=BEARER)
def me():
    return service.require_role(current_user(), *ROLES)


@blp.route("/users", methods=["POST"])
@blp.arguments(UserIn)
@blp.response(201, UserOut)
@blp.errors(401, 403, 409)
@blp.doc(security=BEARER)
def create_user(body):
    db = get_session()
    # The service reads actor None as the trusted command line, so an anonymous caller must be
    # refused here, before it could pass for one.
    actor = service.require_role(current_user(), "admin")
    user = service.create_user(db, actor, **body)
    db.commit()
    return user


@blp.route("/users", methods=["GET"])
@blp.arguments(Page, location="query")
@blp.response(200, UserOut(many=True))
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def list_users(page):
    service.require_role(current_user(), "admin")
    return get_session().scalars(select(User).order_by(User.id).limit(page["limit"]).offset(page["offset"])).all()


@blp.route("/notifications", methods=["GET"])
@blp.arguments(Page, location="query")
@blp.response(200, NotificationOut(many=True))
@blp.errors(401)
@blp.doc(security=BEARER)
def notifications(page):
    user = service.require_role(current_user(), *ROLES)
    return get_session().scalars(select(Notification).where(Notification.user_id == user.id)
                                 .order_by(Notification.id.desc()).limit(page["limit"]).offset(page["offset"])).all()


@blp.route("/audit", methods=["GET"])
@blp.arguments(Page, location="query")
@blp.response(200, AuditOut(many=True))
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def audit_log(page):
    service.require_role(current_user(), "admin")
    return get_session().scalars(select(AuditEntry).order_by(AuditEntry.id.desc())
                                 .limit(page["limit"]).offset(page["offset"])).all()
