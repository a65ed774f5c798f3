"""Access that can be ended, tried over HTTP against `labs serve` as a holder of a copied cookie or a
leaked token would: logout ends a session wherever its cookie was copied; tokens are listed (never
their secrets) and revoked; a password change ends the user's other sessions and tokens; an
administrator deactivates, reactivates and resets users through the API, the pages and `labs user`;
a reset user must choose a new password before anything else; `next` never leaves the site."""
from __future__ import annotations

import os
import subprocess

import pytest
import requests
from sqlalchemy import select

from labs.accounts.models import User
from labs.db import session_scope
from tests.conftest import LABS_BIN, PASSWORD
from tests.labs.test_sign_in_throttle import CSRF_RE, page_attempt, token_attempt

NEW_PASSWORD = "a brand new passphrase"
THIRTY_DAYS = 30 * 24 * 3600


def signed_in_browser(base: str, email: str, password: str = PASSWORD) -> requests.Session:
    browser = requests.Session()
    r = page_attempt(base, email, password, browser)
    assert r.status_code == 302, r.text
    return browser


def bearer(base: str, email: str, password: str = PASSWORD) -> dict:
    r = token_attempt(base, email, password)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def page_is_open(base: str, browser: requests.Session) -> bool:
    r = browser.get(f"{base}/notifications", allow_redirects=False, timeout=60)
    assert r.status_code in (200, 302), r.status_code
    return r.status_code == 200


def post_form(base: str, browser: requests.Session, path: str, data: dict, page: str = "/") -> requests.Response:
    token = CSRF_RE.search(browser.get(f"{base}{page}", timeout=60).text).group(1)
    return browser.post(f"{base}{path}", data={**data, "csrf_token": token}, allow_redirects=False, timeout=60)


def api(base: str, method: str, path: str, headers: dict, **kwargs) -> requests.Response:
    return requests.request(method, f"{base}/api/v1{path}", headers=headers, timeout=60, **kwargs)


def test_logout_ends_the_session_wherever_its_cookie_was_copied(world, live_server):
    _, email = world.user("technician")
    browser = signed_in_browser(live_server, email)
    copy = requests.Session()
    copy.cookies.update(browser.cookies)
    assert page_is_open(live_server, browser) and page_is_open(live_server, copy)
    assert post_form(live_server, browser, "/logout", {}).status_code == 302
    assert not page_is_open(live_server, copy)
    assert copy.get(f"{live_server}/notifications", allow_redirects=False, timeout=60).headers["Location"] \
        .startswith("/login")


def test_tokens_are_listed_without_secrets_and_revoked(world, live_server):
    _, email = world.user("enterprise", enterprise=0)
    _, other_email = world.user("enterprise", enterprise=1)
    r = token_attempt(live_server, email, PASSWORD)
    assert r.json()["token_type"] == "Bearer" and r.json()["expires_in"] == THIRTY_DAYS
    first = {"Authorization": f"Bearer {r.json()['access_token']}"}
    second = bearer(live_server, email)
    other = bearer(live_server, other_email)
    assert api(live_server, "GET", "/me", first).status_code == 200
    listed = api(live_server, "GET", "/auth/tokens", second)
    assert listed.status_code == 200
    tokens = listed.json()
    assert len(tokens) == 2 and {"id", "created_at", "expires_at", "last_used_at", "current"} <= set(tokens[0])
    for secret in (first, second):
        assert secret["Authorization"][7:] not in listed.text
    assert [t["current"] for t in tokens] == [True, False]  # newest first: the one in use
    assert tokens[1]["last_used_at"] is not None  # the first token was used for /me
    first_id = tokens[1]["id"]
    # Another user's token is not found, and stays valid.
    other_id = api(live_server, "GET", "/auth/tokens", other).json()[0]["id"]
    assert api(live_server, "DELETE", f"/auth/tokens/{other_id}", second).status_code == 404
    assert api(live_server, "GET", "/me", other).status_code == 200
    # Revoke the first by id, then the one in use.
    assert api(live_server, "DELETE", f"/auth/tokens/{first_id}", second).status_code == 204
    r = api(live_server, "GET", "/me", first)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Bearer realm="labs", error="invalid_token"'
    assert api(live_server, "DELETE", "/auth/token", second).status_code == 204
    assert api(live_server, "GET", "/me", second).status_code == 401


@pytest.mark.parametrize("method, path, headers, body", [
    ("GET", "/me", {}, None),
    ("GET", "/auth/tokens", {}, None),
    ("DELETE", "/auth/token", {}, None),
    ("POST", "/me/password", {}, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    ("GET", "/users", {"Authorization": "Bearer not-a-token"}, None),
    ("POST", "/auth/token", {}, {"email": "nobody@example.com", "password": "wrong password"}),
])
def test_every_401_of_the_api_carries_a_bearer_challenge(live_server, method, path, headers, body):
    r = api(live_server, method, path, headers, json=body)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith('Bearer realm="labs"')
    assert r.headers["Content-Type"].startswith("application/problem+json")


def test_password_change_over_the_api_ends_every_other_session_and_token(world, live_server):
    _, email = world.user("inspector")
    in_use, spare = bearer(live_server, email), bearer(live_server, email)
    browser = signed_in_browser(live_server, email)
    wrong = api(live_server, "POST", "/me/password", in_use,
                json={"current_password": "not it at all", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 422 and "current_password" in wrong.json()["errors"]
    r = api(live_server, "POST", "/me/password", in_use,
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 204, r.text
    assert api(live_server, "GET", "/me", in_use).status_code == 200
    assert api(live_server, "GET", "/me", spare).status_code == 401
    assert not page_is_open(live_server, browser)
    assert token_attempt(live_server, email, PASSWORD).status_code == 401
    assert token_attempt(live_server, email, NEW_PASSWORD).status_code == 200


def test_password_change_page_ends_the_other_sessions_and_tokens(world, live_server):
    _, email = world.user("lab_manager")
    here, elsewhere = signed_in_browser(live_server, email), signed_in_browser(live_server, email)
    token = bearer(live_server, email)
    assert here.get(f"{live_server}/account/password", timeout=60).status_code == 200
    mismatch = post_form(live_server, here, "/account/password",
                         {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                          "confirm_password": NEW_PASSWORD + "!"}, page="/account/password")
    assert mismatch.status_code == 422
    r = post_form(live_server, here, "/account/password",
                  {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
                  page="/account/password")
    assert r.status_code == 302, r.text
    assert page_is_open(live_server, here)
    assert not page_is_open(live_server, elsewhere)
    assert api(live_server, "GET", "/me", token).status_code == 401
    assert page_attempt(live_server, email, NEW_PASSWORD).status_code == 302


def test_admin_deactivates_and_reactivates_a_user_over_the_api(world, live_server):
    admin_id, admin_email = world.user("admin")
    user_id, email = world.user("enterprise", enterprise=0)
    admin = bearer(live_server, admin_email)
    token, browser = bearer(live_server, email), signed_in_browser(live_server, email)
    r = api(live_server, "POST", f"/users/{user_id}/deactivate", admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert api(live_server, "GET", "/me", token).status_code == 401
    assert not page_is_open(live_server, browser)
    assert token_attempt(live_server, email, PASSWORD).status_code == 401
    assert page_attempt(live_server, email, PASSWORD).status_code == 401
    assert api(live_server, "POST", f"/users/{admin_id}/deactivate", admin).status_code == 409  # not oneself
    assert api(live_server, "POST", f"/users/{user_id}/reactivate", admin).json()["active"] is True
    # The old token stays ended; a new sign-in works.
    assert api(live_server, "GET", "/me", token).status_code == 401
    assert api(live_server, "GET", "/me", bearer(live_server, email)).status_code == 200


def test_reset_user_must_choose_a_new_password_before_anything_else(world, live_server):
    _, admin_email = world.user("admin")
    user_id, email = world.user("enterprise", enterprise=0)
    old_token = bearer(live_server, email)
    r = api(live_server, "POST", f"/users/{user_id}/password-reset", bearer(live_server, admin_email))
    assert r.status_code == 200
    one_time = r.json()["one_time_password"]
    assert len(one_time) >= 12
    assert api(live_server, "GET", "/me", old_token).status_code == 401
    assert token_attempt(live_server, email, PASSWORD).status_code == 401
    r = token_attempt(live_server, email, one_time)
    assert r.status_code == 200 and r.json()["password_change_required"] is True
    token = {"Authorization": f"Bearer {r.json()['access_token']}"}
    blocked = api(live_server, "GET", "/bookings", token)
    assert blocked.status_code == 403 and blocked.json()["code"] == "password_change_required"
    assert blocked.headers["Content-Type"].startswith("application/problem+json")
    assert api(live_server, "GET", "/me", token).json()["must_change_password"] is True
    r = api(live_server, "POST", "/me/password", token, json={"current_password": one_time,
                                                               "new_password": NEW_PASSWORD})
    assert r.status_code == 204, r.text
    assert api(live_server, "GET", "/bookings", token).status_code == 200


def test_admin_pages_reset_deactivate_and_reactivate_and_the_reset_user_is_sent_to_change(world, live_server):
    _, admin_email = world.user("admin")
    user_id, email = world.user("technician")
    admin = signed_in_browser(live_server, admin_email)
    r = post_form(live_server, admin, f"/admin/users/{user_id}/password-reset", {}, page="/admin/users")
    assert r.status_code == 200
    one_time = r.text.split('id="one-time-password"')[1].split("<code>")[1].split("</code>")[0]
    user = requests.Session()
    r = page_attempt(live_server, email, one_time, user, next_url="/notifications")
    assert r.status_code == 302 and r.headers["Location"].startswith("/account/password")
    r = user.get(f"{live_server}/notifications", allow_redirects=False, timeout=60)
    assert r.status_code == 302 and r.headers["Location"].startswith("/account/password")
    r = post_form(live_server, user, "/account/password",
                  {"current_password": one_time, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
                   "next": "/notifications"}, page="/account/password")
    assert r.status_code == 302 and r.headers["Location"] == "/notifications"
    assert page_is_open(live_server, user)

    assert post_form(live_server, admin, f"/admin/users/{user_id}/deactivate", {}).status_code == 302
    assert not page_is_open(live_server, user)
    assert page_attempt(live_server, email, NEW_PASSWORD).status_code == 401
    assert post_form(live_server, admin, f"/admin/users/{user_id}/reactivate", {}).status_code == 302
    assert page_attempt(live_server, email, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("target", [
    "/\t/evil.com", "/\r/evil.com", "/\n/evil.com", "/\x0b/evil.com", "/\x7f/evil.com", "/\x85/evil.com",
    "//evil.com", "///evil.com", "/\\evil.com", "\\/evil.com", "https://evil.com", "http:evil.com",
    "evil.com", " //evil.com", "/%09/evil.com".replace("%09", "\t") + "/x",
])
def test_login_next_never_leaves_the_site(world, live_server, target):
    _, email = world.user("technician")
    r = page_attempt(live_server, email, PASSWORD, next_url=target)
    assert r.status_code == 302
    assert r.headers["Location"] == "/", (target, r.headers["Location"])


def test_login_next_keeps_a_path_on_this_site(world, live_server):
    _, email = world.user("technician")
    r = page_attempt(live_server, email, PASSWORD, next_url="/notifications?page=2")
    assert r.headers["Location"] == "/notifications?page=2"
    # As the login page carries it from its address (?next=/%09/evil.com), the tab arrives decoded.
    browser = requests.Session()
    page = browser.get(f"{live_server}/login?next=/%09/evil.com", timeout=60).text
    assert 'name="next" value="/\t/evil.com"' in page
    assert page_attempt(live_server, email, PASSWORD, browser, next_url="/\t/evil.com").headers["Location"] == "/"


# --- labs user deactivate | reactivate | reset-password, as an operator runs them ----------------

@pytest.fixture
def cli_env(app, database_url, tmp_path):
    return {**os.environ, "LABS_DATABASE_URL": database_url, "LABS_INSTANCE_PATH": str(tmp_path / "cli-instance")}


def _labs(env, *args, stdin: str = ""):
    return subprocess.run([str(LABS_BIN), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)


def _user(app, email: str) -> User:
    with app.app_context(), session_scope(app) as s:
        return s.scalar(select(User).where(User.email == email))


def test_labs_user_deactivate_reactivate_and_reset_password(app, world, cli_env):
    _, email = world.user("technician")
    token = world.token(email)
    done = _labs(cli_env, "user", "deactivate", email.upper())
    assert done.returncode == 0, done.stderr
    assert not _user(app, email).active
    assert world.client.get("/api/v1/me", headers=token).status_code == 401
    done = _labs(cli_env, "user", "reactivate", email)
    assert done.returncode == 0 and _user(app, email).active

    done = _labs(cli_env, "user", "reset-password", email)
    assert done.returncode == 0, done.stderr
    one_time = done.stdout.split("one-time password: ")[1].strip()
    assert _user(app, email).must_change_password
    r = world.client.post("/api/v1/auth/token", json={"email": email, "password": one_time})
    assert r.status_code == 200 and r.json["password_change_required"] is True

    chosen = "chosen by the operator"
    done = _labs(cli_env, "user", "reset-password", email, "--password-stdin", stdin=chosen + "\n")
    assert done.returncode == 0 and chosen not in done.stdout + done.stderr
    assert world.client.post("/api/v1/auth/token", json={"email": email, "password": chosen}).status_code == 200
    assert world.client.post("/api/v1/auth/token", json={"email": email, "password": one_time}).status_code == 401


def test_labs_user_commands_name_an_unknown_user(cli_env):
    for command in ("deactivate", "reactivate", "reset-password"):
        done = _labs(cli_env, "user", command, "nobody@example.com")
        assert done.returncode == 1 and "no user with e-mail nobody@example.com" in done.stderr
        assert "Traceback" not in done.stderr
