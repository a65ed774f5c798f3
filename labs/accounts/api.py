"""/api/v1: tokens, the caller, users, notifications, the audit log."""
from __future__ import annotations

from labs.accounts import service
from labs.accounts.auth import current_user
from labs.accounts.schemas import AuditOut, NotificationOut, Page, TokenRequest, TokenResponse, UserIn, UserOut
from labs.api import Blueprint
from labs.db import get_session

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Accounts and tokens")
BEARER = [{"bearerAuth": []}]


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
    return service.signed_in(current_user())


@blp.route("/users", methods=["POST"])
@blp.arguments(UserIn)
@blp.response(201, UserOut)
@blp.errors(401, 403, 409)
@blp.doc(security=BEARER)
def create_user(body):
    db = get_session()
    user = service.create_user(db, current_user(), **body)
    db.commit()
    return user


@blp.route("/users", methods=["GET"])
@blp.arguments(Page, location="query")
@blp.response(200, UserOut(many=True))
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def list_users(page):
    return service.list_users(get_session(), current_user(), **page)


@blp.route("/notifications", methods=["GET"])
@blp.arguments(Page, location="query")
@blp.response(200, NotificationOut(many=True))
@blp.errors(401)
@blp.doc(security=BEARER)
def notifications(page):
    return service.notifications(get_session(), current_user(), **page)


@blp.route("/audit", methods=["GET"])
@blp.arguments(Page, location="query")
@blp.response(200, AuditOut(many=True))
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def audit_log(page):
    return service.audit_log(get_session(), current_user(), **page)
