"""Who is asking: a bearer token for programs (the API), the login session for pages."""
from __future__ import annotations

from flask import g, request, session

from labs.accounts.models import User
from labs.accounts.service import user_for_token
from labs.db import get_session


def current_user() -> User | None:
    if "actor" not in g:
        g.actor = _resolve()
    return g.actor


def _resolve() -> User | None:
    db = get_session()
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
        return user_for_token(db, token) if "\x00" not in token else None  # PostgreSQL refuses NUL in text
    if request.path.startswith("/api"):
        # The API takes no cookies: a session cookie would make it open to cross-site requests.
        return None
    user_id = session.get("user_id")
    user = db.get(User, user_id) if isinstance(user_id, int) else None
    return user if user is not None and user.active else None
