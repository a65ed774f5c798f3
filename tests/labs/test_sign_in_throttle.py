"""Sign-in as an attacker tries it, over HTTP against `labs serve` (two worker processes, so the
counts must live in the database): wrong passwords are throttled per account and per client address
before any hashing, with growing waits (429 and Retry-After) on the token endpoint and the login page
alike; unknown e-mail addresses take as long as known ones; every checked attempt is audited; old
records are purged by a scheduled job."""
from __future__ import annotations

import datetime as dt
import re
import statistics
import threading
import time

import requests
from sqlalchemy import select

from labs.accounts.domain import PER_ACCOUNT, PER_ADDRESS, Backoff
from labs.accounts.models import ApiToken, SignInFailure, User, UserSession
from labs.accounts.service import issue_token, open_session, purge_sign_in_records
from labs.audit import AuditEntry
from labs.db import session_scope, utcnow
from tests.conftest import PASSWORD

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
WRONG = "not the password"


def token_attempt(base: str, email: str, password: str = WRONG) -> requests.Response:
    return requests.post(f"{base}/api/v1/auth/token", json={"email": email, "password": password}, timeout=60)


def page_attempt(base: str, email: str, password: str = WRONG, browser: requests.Session | None = None,
                 next_url: str = "") -> requests.Response:
    browser = browser or requests.Session()
    token = CSRF_RE.search(browser.get(f"{base}/login", timeout=60).text).group(1)
    return browser.post(f"{base}/login", data={"email": email, "password": password, "csrf_token": token,
                                               "next": next_url}, allow_redirects=False, timeout=60)


def timed(call) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    response = call()
    return time.perf_counter() - started, response


def test_backoff_gives_free_attempts_then_doubles_up_to_its_cap():
    rule = Backoff(free=3, window=dt.timedelta(hours=1), first_delay=dt.timedelta(seconds=1),
                   max_delay=dt.timedelta(seconds=10))
    assert [rule.delay(n).total_seconds() for n in range(8)] == [0, 0, 0, 1, 2, 4, 8, 10]
    now = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    assert rule.retry_after(2, now, now) == 0
    assert rule.retry_after(4, now - dt.timedelta(seconds=0.5), now) == 2  # 1.5 s, rounded up
    assert rule.retry_after(4, now - dt.timedelta(seconds=2), now) == 0
    assert rule.retry_after(10**6, now, now) == 10  # no overflow however many
    assert PER_ACCOUNT.free == 5 and PER_ADDRESS.free == 30


def test_wrong_passwords_for_an_account_are_throttled_with_growing_waits_on_api_and_page(world, live_server):
    _, email = world.user("technician")
    statuses = []
    for _ in range(PER_ACCOUNT.free + 3):
        r = token_attempt(live_server, email)
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
    # Five attempts a minute at most before the first 429, then one after 1 s, 2 s, 4 s, ...
    assert statuses == [401] * PER_ACCOUNT.free + [429]
    assert r.headers["Retry-After"] == "1"
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["code"] == "too_many_attempts" and r.json()["retry_after"] == 1
    # Even the right password is refused now (it is not even checked), on the login page too.
    assert token_attempt(live_server, email, PASSWORD).status_code == 429
    page = page_attempt(live_server, email, PASSWORD)
    assert page.status_code == 429 and page.headers["Retry-After"] == "1"
    assert "Too many failed sign-ins" in page.text or "登录失败次数过多" in page.text
    time.sleep(1.2)
    assert token_attempt(live_server, email).status_code == 401  # the wait is over: one more try
    r = page_attempt(live_server, email)
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"  # and the next wait doubles
    time.sleep(2.2)
    r = token_attempt(live_server, email, PASSWORD)
    assert r.status_code == 200, r.text
    # A success clears the account's count: five free attempts again.
    assert [token_attempt(live_server, email).status_code for _ in range(PER_ACCOUNT.free)] == [401] * 5


def test_one_client_address_is_throttled_across_accounts_before_hashing(world, live_server):
    _, email = world.user("technician")
    unknown = [timed(lambda n=n: token_attempt(live_server, f"nobody{n}@example.com"))
               for n in range(PER_ADDRESS.free)]
    assert [r.status_code for _, r in unknown] == [401] * PER_ADDRESS.free
    refused = [timed(lambda n=n: token_attempt(live_server, f"else{n}@example.com")) for n in range(5)]
    assert {r.status_code for _, r in refused} == {429}
    # From this address even a known account with its right password waits, on both ways in.
    assert token_attempt(live_server, email, PASSWORD).status_code == 429
    assert page_attempt(live_server, email, PASSWORD).status_code == 429
    # Refused before hashing: a 429 costs a fraction of a checked attempt (argon2id, 64 MiB).
    checked = statistics.median(seconds for seconds, _ in unknown)
    throttled = statistics.median(seconds for seconds, _ in refused)
    assert throttled < checked / 2, (throttled, checked)


def test_unknown_email_takes_as_long_as_a_known_one(world, live_server):
    known = [world.user("enterprise", enterprise=0)[1] for _ in range(10)]
    for n in range(2):  # each worker makes its dummy hash once
        token_attempt(live_server, f"warm{n}@example.com")
    known_s, unknown_s = [], []
    for n, email in enumerate(known):  # interleaved, so a slow moment hits both alike
        seconds, r = timed(lambda: token_attempt(live_server, email))
        assert r.status_code == 401
        known_s.append(seconds)
        seconds, r = timed(lambda: token_attempt(live_server, f"stranger{n}@example.com"))
        assert r.status_code == 401
        unknown_s.append(seconds)
    ratio = statistics.median(unknown_s) / statistics.median(known_s)
    print(f"unknown/known e-mail sign-in time: {ratio:.2f} "
          f"({statistics.median(unknown_s) * 1000:.0f} ms / {statistics.median(known_s) * 1000:.0f} ms)")
    assert 0.6 < ratio < 1.6, (unknown_s, known_s)


def test_a_flood_of_wrong_passwords_does_not_slow_other_requests(world, live_server):
    stop = threading.Event()

    def flood(n):
        while not stop.is_set():
            token_attempt(live_server, f"flood{n}@example.com")

    threads = [threading.Thread(target=flood, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(3)  # the address's free attempts are used up by now
        latencies = [timed(lambda: requests.get(f"{live_server}/api/v1/labs", timeout=60))[0] for _ in range(20)]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    print(f"GET /api/v1/labs during the flood: median {statistics.median(latencies) * 1000:.0f} ms")
    assert statistics.median(latencies) < 0.4, latencies  # a second each before the throttle, on 2 cores


def test_sign_ins_and_failures_are_audited(app, world, live_server):
    user_id, email = world.user("inspector")
    assert token_attempt(live_server, email).status_code == 401
    assert page_attempt(live_server, email).status_code == 401
    assert token_attempt(live_server, "nobody@example.com").status_code == 401
    assert token_attempt(live_server, email, PASSWORD).status_code == 200
    assert page_attempt(live_server, email, PASSWORD).status_code == 302
    with app.app_context(), session_scope(app) as s:
        rows = [(e.action, e.actor_id, e.entity_id, (e.after or {}).get("via"), (e.after or {}).get("reason"))
                for e in s.scalars(select(AuditEntry).where(AuditEntry.action.like("user.sign_in%"))
                                   .order_by(AuditEntry.id))]
    assert rows == [
        ("user.sign_in_failed", None, user_id, "token", "wrong password"),
        ("user.sign_in_failed", None, user_id, "page", "wrong password"),
        ("user.sign_in_failed", None, 0, "token", "unknown account"),
        ("user.sign_in", user_id, user_id, "token", None),
        ("user.sign_in", user_id, user_id, "page", None),
    ]


def test_purge_job_deletes_expired_tokens_sessions_and_old_failures(app, world):
    from labs.cli import scheduled_jobs
    assert purge_sign_in_records in [job for job, _trigger in scheduled_jobs()]
    user_id, _ = world.user("technician")
    now = utcnow()
    with app.app_context(), session_scope(app) as s:
        user = s.get(User, user_id)
        issue_token(s, user), issue_token(s, user)
        open_session(s, user), open_session(s, user)
        s.flush()
        old_token, _ = s.scalars(select(ApiToken).order_by(ApiToken.id)).all()
        old_token.expires_at = now - dt.timedelta(seconds=1)
        s.scalars(select(UserSession).order_by(UserSession.id)).first().expires_at = now - dt.timedelta(seconds=1)
        s.add_all([SignInFailure(at=now - dt.timedelta(days=2), email="a@example.com", address="192.0.2.1"),
                   SignInFailure(at=now - dt.timedelta(minutes=5), email="a@example.com", address="192.0.2.1")])
    with app.app_context(), session_scope(app) as s:
        purge_sign_in_records(s)
    with app.app_context(), session_scope(app) as s:
        assert len(s.scalars(select(ApiToken)).all()) == 1
        assert len(s.scalars(select(UserSession)).all()) == 1
        assert [f.at > now - dt.timedelta(hours=1) for f in s.scalars(select(SignInFailure))] == [True]
