"""Who is asking: a bearer token for programs (the API), the login session for pages. Both are
checked against the database on every request, so a revoked token or ended session stops at once."""
from __future__ import annotations

from flask import g, request, session

from labs.accounts.models import User
from labs.accounts.service import token_row, user_for_session
from labs.db import get_session

SESSION_KEY = "sid"  # the cookie's field holding the session's secret


def current_user() -> User | None:
    if "actor" not in g:
        g.actor = _resolve()
    return g.actor


def current_token_id() -> int | None:
    """The id of the bearer token this request came with, if it is valid."""
    current_user()
    return g.get("token_id")


def current_session_secret() -> str | None:
    secret = session.get(SESSION_KEY)
    return secret if isinstance(secret, str) and "\x00" not in secret else None


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def _resolve() -> User | None:
    # The unit of work is opened only where there is something to look up: anonymous requests (the
    # public pages' flood) make none.
    token = bearer_token()
    if token is not None:
        if "\x00" in token:  # PostgreSQL refuses NUL in text
            return None
        row = token_row(get_session(), token)
        g.token_id = row.id if row else None
        return row.user if row else None
    if request.path.startswith("/api"):
        # The API takes no cookies: a session cookie would make it open to cross-site requests.
        return None
    secret = current_session_secret()
    return user_for_session(get_session(), secret) if secret else None


def resolve_bearer_first() -> None:
    """Before a bearer request's handler: check the token and write its last use (at most once a
    minute) in a transaction of its own, committed before the handler's work begins."""
    if bearer_token() is not None:
        current_user()
        get_session().commit()


def client_address() -> str:
    """The caller's network address, as the sign-in throttle keys it. Behind a reverse proxy it is
    the forwarded client's only when the proxies are trusted (werkzeug's ProxyFix), else the proxy's."""
    return request.remote_addr or "unknown"
