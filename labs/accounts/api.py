"""/api/v1: tokens (issued, listed, revoked), the caller and their password, users (created,
deactivated, reactivated, reset), notifications, the audit log."""
from __future__ import annotations

from labs.accounts import service
from labs.accounts.auth import client_address, current_token_id, current_user
from labs.accounts.schemas import (AuditOut, NotificationOut, OneTimePassword, Page, PasswordChange, TokenOut,
                                   TokenRequest, TokenResponse, UserIn, UserOut)
from labs.api import Blueprint
from labs.db import get_session

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Accounts and tokens")
BEARER = [{"bearerAuth": []}]


@blp.route("/auth/token", methods=["POST"])
@blp.arguments(TokenRequest)
@blp.response(200, TokenResponse)
@blp.errors(401, 429)
def issue_token(body):
    """Exchange e-mail and password for a bearer token. After five failures for an e-mail address
    (or thirty from one client address) each further attempt must wait, twice as long each time:
    429 with Retry-After."""
    db = get_session()
    try:
        user = service.sign_in(db, body["email"], body["password"], client_address(), "token")
    finally:
        db.commit()  # a failure is counted and audited too
    token = service.issue_token(db, user)
    db.commit()
    return {"access_token": token, "token_type": "Bearer", "expires_in": int(service.TOKEN_LIFETIME.total_seconds()),
            "password_change_required": user.must_change_password}


@blp.route("/auth/token", methods=["DELETE"])
@blp.response(204)
@blp.errors(401)
@blp.doc(security=BEARER)
def revoke_token():
    """Revoke the token this request came with."""
    db = get_session()
    service.revoke_token(db, current_user(), current_token_id())
    db.commit()


@blp.route("/auth/tokens", methods=["GET"])
@blp.response(200, TokenOut(many=True))
@blp.errors(401)
@blp.doc(security=BEARER)
def list_tokens():
    """The caller's own live tokens: when made, when they expire, when last used; never the secret."""
    in_use = current_token_id()
    return [{"id": t.id, "created_at": t.created_at, "expires_at": t.expires_at, "last_used_at": t.last_used_at,
             "current": t.id == in_use} for t in service.list_tokens(get_session(), current_user())]


@blp.route("/auth/tokens/<int:token_id>", methods=["DELETE"])
@blp.response(204)
@blp.errors(401, 404)
@blp.doc(security=BEARER)
def revoke_token_by_id(token_id):
    """Revoke one of the caller's own tokens."""
    db = get_session()
    service.revoke_token(db, current_user(), token_id)
    db.commit()


@blp.route("/me", methods=["GET"])
@blp.response(200, UserOut)
@blp.errors(401)
@blp.doc(security=BEARER)
def me():
    """The caller: their account, role and enterprise."""
    return service.signed_in(current_user())


@blp.route("/me/password", methods=["POST"])
@blp.arguments(PasswordChange)
@blp.response(204)
@blp.errors(401, 403, 422, 429)
@blp.doc(security=BEARER)
def change_password(body):
    """Change one's own password, giving the current one. Every other token and session of the
    caller ends; the token in use goes on."""
    db = get_session()
    try:
        service.change_password(db, current_user(), body["current_password"], body["new_password"],
                                client_address(), keep_token_id=current_token_id())
    finally:
        db.commit()  # a wrong current password is counted and audited too


@blp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@blp.response(200, UserOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def deactivate_user(user_id):
    """End a user's access: no sign-in, and their sessions and tokens end now (administrators)."""
    db = get_session()
    user = service.deactivate_user(db, current_user(), user_id)
    db.commit()
    return user


@blp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@blp.response(200, UserOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def reactivate_user(user_id):
    """Let a deactivated user sign in again (administrators)."""
    db = get_session()
    user = service.reactivate_user(db, current_user(), user_id)
    db.commit()
    return user


@blp.route("/users/<int:user_id>/password-reset", methods=["POST"])
@blp.response(200, OneTimePassword)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def reset_password(user_id):
    """Give a user a one-time password, shown only in this answer: their sessions and tokens end, and
    they must choose a new password when they next sign in (administrators)."""
    db = get_session()
    user, one_time_password = service.reset_password(db, current_user(), user_id)
    db.commit()
    return {"user_id": user.id, "email": user.email, "one_time_password": one_time_password}


@blp.route("/users", methods=["POST"])
@blp.arguments(UserIn)
@blp.response(201, UserOut)
@blp.errors(401, 403, 409)
@blp.doc(security=BEARER)
def create_user(body):
    """Create a user; an enterprise user names their enterprise by its credit code (administrators)."""
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
    """Every user, page by page (administrators)."""
    return service.list_users(get_session(), current_user(), **page)


@blp.route("/notifications", methods=["GET"])
@blp.arguments(Page, location="query")
@blp.response(200, NotificationOut(many=True))
@blp.errors(401)
@blp.doc(security=BEARER)
def notifications(page):
    """The caller's notices, newest first, page by page."""
    return service.notifications(get_session(), current_user(), **page)


@blp.route("/audit", methods=["GET"])
@blp.arguments(Page, location="query")
@blp.response(200, AuditOut(many=True))
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def audit_log(page):
    """The audit trail: who changed what and when, with the record before and after (administrators)."""
    return service.audit_log(get_session(), current_user(), **page)
