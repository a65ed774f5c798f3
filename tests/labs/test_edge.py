"""`labs serve` at its edge, driven over HTTP as an attacker would (on both databases): clients that
dawdle over their headers, a forged Host header, bodies too large, hostile input, the headers of
every response, feed tokens in the access log, and another lab's booking."""
from __future__ import annotations

import re
import socket
import time

import icalendar
import pytest
import requests

from labs.catalog.models import Lab
from labs.db import session_scope
from tests.conftest import PASSWORD, booking_body, next_working_day, running_server
from tests.web.conftest import CSRF_RE

PUBLIC_URL = "https://labs.example.gov.cn"


def _token(base: str, email: str) -> dict:
    r = requests.post(f"{base}/api/v1/auth/token", json={"email": email, "password": PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _half_header(base: str) -> socket.socket:
    host, port = base.rsplit("//", 1)[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(b"GET /api/v1/labs HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slow")  # and no more
    return sock


# --- slow clients ------------------------------------------------------------------------------------

def test_a_normal_request_is_answered_within_a_second_while_clients_dawdle(live_server):
    # Far more than the workers' threads (2 workers x 8): each holds a socket, none holds a thread.
    dawdlers = [_half_header(live_server) for _ in range(40)]
    try:
        time.sleep(0.5)  # they are all accepted and waiting
        for _ in range(3):
            started = time.monotonic()
            r = requests.get(f"{live_server}/api/v1/labs", timeout=10)
            assert r.status_code == 200
            assert time.monotonic() - started < 1.0
    finally:
        for sock in dawdlers:
            sock.close()


def test_a_client_that_never_finishes_its_header_is_dropped(live_server):
    sock = _half_header(live_server)
    started = time.monotonic()
    try:
        sock.settimeout(30)
        while True:  # a byte every second keeps it from looking idle, not from the header deadline
            try:
                sock.sendall(b"x")
            except OSError:
                break
            sock.settimeout(1)
            try:
                if sock.recv(1024) == b"":
                    break
            except socket.timeout:
                pass
            except OSError:
                break
            assert time.monotonic() - started < 25, "the server kept a dawdling header open"
    finally:
        sock.close()
    assert time.monotonic() - started >= 9


# --- behind a proxy: the public address -------------------------------------------------------------

@pytest.fixture
def public_server(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("LABS_PUBLIC_URL", PUBLIC_URL)
    monkeypatch.setenv("LABS_SECURE_COOKIES", "1")
    with running_server(database_url, tmp_path, workers=1) as base:
        yield base


def test_a_forged_host_header_does_not_change_the_feed_addresses(public_server, world):
    manager_id, manager = world.user("lab_manager")
    lab_id = world.lab(manager_ids=[manager_id])
    _, owner = world.user("enterprise", enterprise=0)
    for path, email in ((f"/api/v1/labs/{lab_id}/calendar-feed", manager), ("/api/v1/me/calendar-feed", owner)):
        r = requests.get(public_server + path, headers={**_token(public_server, email), "Host": "evil.example",
                                                        "X-Forwarded-Host": "evil.example"}, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["url"].startswith(f"{PUBLIC_URL}/calendar/"), r.json()
    # The page that shows a lab's feed address too. The session cookie is Secure (for HTTPS) and the
    # test talks plain HTTP to the server, so the cookie is sent by hand; the sign-in form's post
    # carries the Referer a browser sends (CSRF protection checks it over HTTPS).
    r = requests.get(f"{public_server}/login", headers={"Host": "evil.example"}, timeout=30)
    assert "Secure" in r.headers["Set-Cookie"]
    cookie = r.headers["Set-Cookie"].split(";", 1)[0]
    r = requests.post(f"{public_server}/login", timeout=30, allow_redirects=False,
                      headers={"Host": "evil.example", "Cookie": cookie, "Referer": f"{PUBLIC_URL}/login"},
                      data={"email": manager, "password": PASSWORD, "csrf_token": CSRF_RE.search(r.text).group(1)})
    assert r.status_code == 302 and "evil.example" not in r.headers["Location"], r.text
    cookie = r.headers["Set-Cookie"].split(";", 1)[0]
    html = requests.get(f"{public_server}/labs/{lab_id}/calendar", timeout=30,
                        headers={"Host": "evil.example", "Cookie": cookie}).text
    assert f"{PUBLIC_URL}/calendar/labs/" in html and "evil.example" not in html


# --- sizes -------------------------------------------------------------------------------------------

def test_a_body_above_one_mebibyte_is_refused_with_413(live_server):
    big = b'{"email": "' + b"x" * (1024 * 1024) + b'", "password": "x"}'
    r = requests.post(f"{live_server}/api/v1/auth/token", data=big, timeout=30,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert "1 MiB" in r.json()["detail"]
    r = requests.post(f"{live_server}/login", data={"email": "x" * (1024 * 1024)}, timeout=30)
    assert r.status_code == 413 and r.headers["Content-Type"].startswith("text/html")
    assert "<html" in r.text


def test_a_declared_100_mb_body_is_refused_before_it_is_sent(live_server):
    host, port = live_server.rsplit("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 104857600\r\n\r\n[")
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


# --- hostile input -----------------------------------------------------------------------------------

def _status(r: requests.Response) -> int:
    assert r.status_code < 500, f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}"
    return r.status_code


def test_hostile_input_gets_a_4xx_never_a_500(live_server, world):
    admin_id, admin = world.user("admin")
    headers = _token(live_server, admin)
    json_headers = {**headers, "Content-Type": "application/json"}
    nested = "[" * 100_000 + "]" * 100_000
    r = requests.post(f"{live_server}/api/v1/labs", data=nested, headers=json_headers, timeout=30)
    assert _status(r) == 400 and "nests deeper" in r.json()["detail"]
    r = requests.post(f"{live_server}/api/v1/auth/token", data="[" * 100_000, timeout=30,
                      headers={"Content-Type": "application/json"})
    assert _status(r) == 400
    # A lone surrogate: valid JSON, but no text PostgreSQL (or UTF-8) can hold.
    body = ('{"code": "S1", "name": "\\ud800", "discipline": "emc", "fee_per_hour": "1.00", '
            '"fee_per_batch": "1.00"}')
    r = requests.post(f"{live_server}/api/v1/labs", data=body, headers=json_headers, timeout=30)
    assert _status(r) == 422 and "name" in r.json()["errors"]
    r = requests.post(f"{live_server}/api/v1/auth/token", timeout=30, headers={"Content-Type": "application/json"},
                      data='{"email": "\\udfff@example.com", "password": "x"}')
    assert _status(r) == 422
    for path in ("/labs/%00", "/calendar/labs/%00.ics", "/calendar/enterprises/a%00b.ics", "/certificates/%00",
                 "/api/v1/certificates/%00", "/api/v1/labs/%00", "/%0d%0aSet-Cookie:%20x=1", "/labs/%ED%A0%80"):
        r = requests.get(live_server + path, headers=headers, timeout=30)
        assert 400 <= _status(r) < 500 and "x=1" not in r.headers.get("Set-Cookie", "")


def test_a_newline_in_next_is_not_a_500(live_server, world):
    """The sign-in form goes home instead of writing the newline into a Location header (the check
    is the sign-in view's safe_next)."""
    _, admin = world.user("admin")
    session = requests.Session()
    r = session.get(f"{live_server}/login", params={"next": "/\r\nX-Evil: 1"}, timeout=30)
    assert _status(r) == 200
    r = session.post(f"{live_server}/login", allow_redirects=False, timeout=30, data={
        "email": admin, "password": PASSWORD, "next": "/bookings\r\nX-Evil: 1",
        "csrf_token": CSRF_RE.search(r.text).group(1)})
    assert _status(r) == 302 and "X-Evil" not in r.headers and "\n" not in r.headers["Location"]


@pytest.mark.parametrize("name", ["Bearing\nlab", "Bearing\rlab", "Bearing\tlab", "Bearing\x1blab", "Bearing\u2028lab"])
def test_control_characters_in_names_are_refused_at_the_edge(live_server, world, name):
    manager_id, manager = world.user("lab_manager")
    lab_id = world.lab(manager_ids=[manager_id])
    headers = _token(live_server, manager)
    r = requests.patch(f"{live_server}/api/v1/labs/{lab_id}", json={"name": name}, headers=headers, timeout=30)
    assert _status(r) == 422 and list(r.json()["errors"]) == ["name"]
    r = requests.post(f"{live_server}/api/v1/labs/{lab_id}/closures", headers=headers, timeout=30, json={
        "starts_at": "2030-01-02T08:00:00+08:00", "ends_at": "2030-01-03T08:00:00+08:00", "reason": name})
    assert _status(r) == 422 and list(r.json()["errors"]) == ["reason"]
    _, owner = world.user("enterprise", enterprise=0)
    body = booking_body(lab_id, next_working_day(), test_type=name, contact_name=name,
                        contact_phone="13800000000\n")
    r = requests.post(f"{live_server}/api/v1/bookings", json=body, headers=_token(live_server, owner), timeout=30)
    assert _status(r) == 422 and set(r.json()["errors"]) == {"test_type", "contact_name", "contact_phone"}
    # A description may span lines.
    body = booking_body(lab_id, next_working_day(), sample_description="6205 bearings\r\nbatch 2\tof 2")
    r = requests.post(f"{live_server}/api/v1/bookings", json=body, headers=_token(live_server, owner), timeout=30)
    assert _status(r) == 201


def test_a_feed_stays_well_formed_whatever_a_stored_name_holds(live_server, world, app):
    """Rows written before names were checked: the feed folds their line breaks and drops the rest."""
    manager_id, manager = world.user("lab_manager")
    lab_id = world.lab(manager_ids=[manager_id])
    _, owner = world.user("enterprise", enterprise=0)
    r = requests.post(f"{live_server}/api/v1/bookings", timeout=30, headers=_token(live_server, owner),
                      json=booking_body(lab_id, next_working_day(), sample_description="line one\r\nline two\rthree"))
    assert r.status_code == 201, r.text
    with session_scope(app) as session:
        session.get(Lab, lab_id).name = "Bearing\rlab\nEND:VCALENDAR\x07\x1b"  # PostgreSQL holds no NUL
        session.get(Lab, lab_id).location = "Hall\r\n2"
    url = requests.get(f"{live_server}/api/v1/labs/{lab_id}/calendar-feed", headers=_token(live_server, manager),
                       timeout=30).json()["url"]
    r = requests.get(live_server + url[url.index("/calendar/"):], headers={"Accept-Language": "en"}, timeout=30)
    assert r.status_code == 200
    raw = r.content
    lines = raw.split(b"\r\n")
    assert all(b"\r" not in line and b"\n" not in line for line in lines), raw
    assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", b"".join(lines))
    assert [line for line in lines if line.startswith(b"END:VCALENDAR")] == [b"END:VCALENDAR"]
    calendar = icalendar.Calendar.from_ical(raw)
    assert str(calendar["X-WR-CALNAME"]).endswith("Bearing lab END:VCALENDAR")
    event = calendar.walk("VEVENT")[0]
    assert str(event["LOCATION"]).startswith("Bearing lab END:VCALENDAR, Hall 2")
    assert str(event["DESCRIPTION"]).endswith("line one\nline two\nthree")


# --- headers and logs --------------------------------------------------------------------------------

def test_every_response_carries_the_security_headers(live_server, world):
    _, admin = world.user("admin")
    for path in ("/", "/login", "/api/v1/labs", "/api/docs", "/api/openapi.json", "/labs/999999"):
        r = requests.get(live_server + path, timeout=30)
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0]
        assert (r.headers["X-Frame-Options"], r.headers["X-Content-Type-Options"]) == ("DENY", "nosniff")
        assert r.headers["Referrer-Policy"] == "same-origin"
    session = requests.Session()
    html = session.get(f"{live_server}/login", timeout=30).text
    session.post(f"{live_server}/login", timeout=30,
                 data={"email": admin, "password": PASSWORD, "csrf_token": CSRF_RE.search(html).group(1)})
    for path in ("/", "/notifications", "/approvals"):
        r = session.get(live_server + path, timeout=30)
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store", path
    r = requests.get(f"{live_server}/api/v1/bookings", headers=_token(live_server, admin), timeout=30)
    assert r.headers["Cache-Control"] == "no-store"


def test_feed_tokens_are_masked_in_the_access_log(database_url, tmp_path, world):
    manager_id, manager = world.user("lab_manager")
    lab_id = world.lab(manager_ids=[manager_id])
    with running_server(database_url, tmp_path, workers=1) as base:
        url = requests.get(f"{base}/api/v1/labs/{lab_id}/calendar-feed", headers=_token(base, manager),
                           timeout=30).json()["url"]
        token = url.rsplit("/", 1)[1][:-len(".ics")]
        assert requests.get(f"{base}/calendar/labs/{token}.ics", timeout=30).status_code == 200
        assert requests.get(f"{base}/calendar/labs/{token}.ics?x=1", timeout=30).status_code == 200
        time.sleep(0.5)  # the access log line is written after the response
    log = (tmp_path / "server.log").read_text()
    assert token not in log
    assert log.count("GET /calendar/labs/***.ics") == 2, log


# --- another lab's booking ---------------------------------------------------------------------------

def test_another_labs_booking_is_absent_to_a_manager(live_server, world):
    manager_id, manager = world.user("lab_manager")
    other_id, other = world.user("lab_manager")
    lab_id = world.lab(manager_ids=[manager_id], code="CT-SECRET")
    world.lab(manager_ids=[other_id])
    _, owner = world.user("enterprise", enterprise=0)
    r = requests.post(f"{live_server}/api/v1/bookings", json=booking_body(lab_id, next_working_day()),
                      headers=_token(live_server, owner), timeout=30)
    booking_id = r.json()["id"]
    headers = _token(live_server, other)
    for method, path in (("GET", f"/api/v1/bookings/{booking_id}"), ("POST", f"/api/v1/bookings/{booking_id}/approve"),
                         ("GET", f"/api/v1/bookings/{booking_id + 1000}")):
        r = requests.request(method, live_server + path, headers=headers, timeout=30)
        assert r.status_code == 404 and "CT-SECRET" not in r.text, r.text
        assert r.json()["detail"] == f"no booking with id {int(path.split('/')[4])}"
    r = requests.get(f"{live_server}/api/v1/bookings/{booking_id}", headers=_token(live_server, manager), timeout=30)
    assert r.status_code == 200
