"""Helpers for the page tests: CSRF tokens from forms, signing in through the login page."""
from __future__ import annotations

import re

from tests.conftest import PASSWORD

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """The token a page's form carries (it is bound to the client's session cookie)."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token in {path}"
    return match.group(1)


def login(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})


def signed_in(app, email: str):
    """A fresh test client (its own cookie jar) signed in as `email`."""
    client = app.test_client()
    r = login(client, email)
    assert r.status_code == 302, r.get_data(as_text=True)
    return client
