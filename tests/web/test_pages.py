"""The server-rendered pages through Flask's test client, on both database backends."""
from __future__ import annotations

import datetime as dt
import io
import re

from booking import service
from booking.service import BookingRequest
from labs.accounts.models import User
from labs.db import session_scope
from tests.conftest import booking_body, next_working_day
from tests.web.conftest import csrf_token, login, signed_in


def _form(lab_id: int, day: dt.date, start="09:00", end="11:00", **extra) -> dict:
    data = {"lab_id": str(lab_id), "date": day.isoformat(), "start": start, "end": end,
            "test_type": "life test", "sample_description": "6205 bearings", "batches": "2",
            "contact_name": "Zhang San", "contact_phone": "13800000000"}
    data.update(extra)
    return data


def _request(client, data: dict):
    return client.post("/bookings/new", data={**data, "csrf_token": csrf_token(client, "/bookings/new")})


def test_login_with_csrf_token_signs_in_and_logout_signs_out(app, world):
    _, alice = world.user("enterprise", enterprise=0)
    client = app.test_client()
    r = login(client, alice)
    assert r.status_code == 302
    assert "SameSite=Lax" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    page = client.get("/").get_data(as_text=True)
    assert "我的预约" in page and "退出" in page
    r = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert r.status_code == 302
    assert "我的预约" not in client.get("/").get_data(as_text=True)


def test_wrong_password_shows_an_error_and_does_not_sign_in(app, world):
    _, alice = world.user("enterprise", enterprise=0)
    client = app.test_client()
    r = login(client, alice, "not the password")
    assert r.status_code == 401
    assert "邮箱或密码错误" in r.get_data(as_text=True)
    assert client.get("/bookings").status_code == 302  # still not signed in


def test_post_without_csrf_token_is_refused_with_400(app, world):
    _, alice = world.user("enterprise", enterprise=0)
    client = app.test_client()
    assert client.post("/login", data={"email": alice, "password": "correct horse battery"}).status_code == 400
    signed = signed_in(app, alice)
    assert signed.post("/bookings/new", data=_form(world.lab(), next_working_day())).status_code == 400
    assert signed.post("/logout").status_code == 400


def test_pages_are_simplified_chinese_by_default_and_switch_to_traditional_and_english(app, world):
    world.lab()
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-Hans-CN">' in page and "实验室目录" in page
    assert "實驗室目錄" in client.get("/?lang=zh_Hant_TW").get_data(as_text=True)
    # The choice is remembered for the next pages.
    assert "登入" in client.get("/login").get_data(as_text=True)
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "Lab catalog" in english and "实验室目录" not in english
    assert "Log in" in client.get("/login").get_data(as_text=True)


def test_pages_for_signed_in_users_redirect_to_login(client):
    for path in ("/bookings", "/bookings/new", "/approvals", "/notifications", "/admin/labs", "/admin/users"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next="), path


def test_login_never_redirects_off_site(app, world):
    _, alice = world.user("enterprise", enterprise=0)
    client = app.test_client()
    r = client.post("/login", data={"email": alice, "password": "correct horse battery",
                                    "next": "//evil.example/", "csrf_token": csrf_token(client)})
    assert r.headers["Location"] == "/"


def test_catalog_and_lab_page_show_week_instruments_and_fees(app, world):
    lab = world.lab(code="BRG", name="轴承寿命试验室", bays=2, instruments=[
        {"code": "BRG-01", "name": "寿命试验机", "certificate_no": "JZ-1",
         "calibration_valid_until": dt.date.today() + dt.timedelta(days=365)},
        {"code": "BRG-02", "name": "振动测量仪", "certificate_no": "JZ-2",
         "calibration_valid_until": dt.date.today() - dt.timedelta(days=1)}])
    client = app.test_client()
    catalog = client.get("/").get_data(as_text=True)
    assert f'href="/labs/{lab}' in catalog and "轴承寿命试验室" in catalog
    day = next_working_day()
    page = client.get(f"/labs/{lab}?week={day.isoformat()}").get_data(as_text=True)
    assert "¥100.00" in page and "¥50.00" in page
    assert "工位 2" in page and "08:00–18:00" in page
    assert "BRG-02" in page and "已超出检定/校准有效期：重新检定前不可预约" in page
    for week in ("not-a-date", "9999-12-31", "0001-01-01"):
        assert client.get(f"/?week={week}").status_code == 200
        assert client.get(f"/labs/{lab}?week={week}").status_code == 200
    assert client.get("/labs/999999").status_code == 404


def test_enterprise_requests_a_slot_through_the_form(app, world):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab()
    client = signed_in(app, alice)
    r = _request(client, _form(lab, next_working_day()))
    assert r.status_code == 302 and re.fullmatch(r"/bookings/\d+", r.headers["Location"])  # the booking's page
    mine = client.get("/bookings").get_data(as_text=True)
    assert "life test" in mine and "待审批" in mine and "09:00–11:00" in mine


def test_bad_form_input_is_shown_again_with_messages_and_the_input_kept(app, world):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab()
    client = signed_in(app, alice)
    r = _request(client, _form(lab, next_working_day(), date="31/02/2027", batches="many",
                               test_type="fatigue test", contact_phone="call me"))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "请按 YYYY-MM-DD 填写日期" in page
    assert 'name="batches"' in page and 'value="many"' in page
    assert 'value="fatigue test"' in page and 'value="31/02/2027"' in page
    assert 'id="form-errors"' in page
    r = _request(client, _form(lab, next_working_day(), test_type=""))
    assert r.status_code == 422 and "此项为必填项" in r.get_data(as_text=True)


def test_a_broken_lab_rule_is_shown_on_the_form(app, world):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(instruments=[{"code": "OLD-1", "name": "old rig", "certificate_no": "C1",
                                  "calibration_valid_until": dt.date.today() - dt.timedelta(days=1)}])
    client = signed_in(app, alice)
    r = _request(client, _form(lab, next_working_day(), start="19:00", end="20:00"))
    assert r.status_code == 422
    assert "超出实验室当天的开放时间" in r.get_data(as_text=True)  # the rule, in the page's language
    instrument_id = re.search(r'name="instrument_ids" value="(\d+)"', r.get_data(as_text=True)).group(1)
    r = _request(client, {**_form(lab, next_working_day()), "instrument_ids": instrument_id})
    assert r.status_code == 422 and "已超出校准有效期" in r.get_data(as_text=True)
    r = _request(client, _form(lab, next_working_day(), missing_documents="type-test report"))
    assert r.status_code == 422 and "须签署承诺书" in r.get_data(as_text=True)
    r = _request(client, _form(lab, next_working_day(), missing_documents="type-test report", commitment_signed="on"))
    assert r.status_code == 302
    mine = client.get("/bookings").get_data(as_text=True)
    assert "type-test report" in mine
    booking = re.search(r'href="/bookings/(\d+)#documents-card"', mine).group(1)
    page = f"/bookings/{booking}"
    r = client.post(f"{page}/documents", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, page), "file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "report.pdf")})
    assert r.status_code == 302
    assert "report.pdf" in client.get(page).get_data(as_text=True)


def test_a_taken_slot_shows_the_conflict(app, world):
    _, alice = world.user("enterprise", enterprise=0)
    _, bob = world.user("enterprise", enterprise=1)
    lab = world.lab()
    day = next_working_day()
    assert world.client.post("/api/v1/bookings", json=booking_body(lab, day, 9, 11),
                             headers=world.token(bob)).status_code == 201
    r = _request(signed_in(app, alice), _form(lab, day, "10:00", "12:00"))
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert 'id="conflicts"' in page and f"{day.isoformat()} 09:00" in page


def test_my_bookings_never_show_another_enterprises_bookings(app, world):
    _, alice = world.user("enterprise", enterprise=0)
    _, alice_colleague = world.user("enterprise", enterprise=0)
    _, bob = world.user("enterprise", enterprise=1)
    lab = world.lab(bays=2)
    day = next_working_day()
    mine = world.client.post("/api/v1/bookings", json=booking_body(lab, day, test_type="alice test"),
                             headers=world.token(alice_colleague)).json["id"]
    theirs = world.client.post("/api/v1/bookings", json=booking_body(lab, day, test_type="bob secret test"),
                               headers=world.token(bob)).json["id"]
    page = signed_in(app, alice).get("/bookings").get_data(as_text=True)
    assert f'id="booking-{mine}"' in page and "alice test" in page
    assert f'id="booking-{theirs}"' not in page and "bob secret test" not in page


def test_manager_sees_overdue_requests_flagged_and_approves(app, world):
    manager_id, manager = world.user("lab_manager")
    alice_id, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(manager_ids=[manager_id])
    day = next_working_day()
    with app.app_context(), session_scope(app) as s:
        # Requested ten days ago: its approval deadline (3 working days) has passed.
        requested_long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10)
        start = dt.datetime.combine(day, dt.time(9), dt.timezone(dt.timedelta(hours=8)))
        old = service.request_booking(s, s.get(User, alice_id), BookingRequest(
            lab, start, start + dt.timedelta(hours=2), "life test", "bearings", 1, "Zhang", "13800000000"),
            now=requested_long_ago).id
    fresh = world.client.post("/api/v1/bookings", json=booking_body(lab, day, 13, 15),
                              headers=world.token(alice)).json["id"]
    client = signed_in(app, manager)
    queue = client.get("/approvals").get_data(as_text=True)
    old_row = re.search(rf'<tr id="approval-{old}" class="bad">.*?</tr>', queue, re.S)
    fresh_row = re.search(rf'<tr id="approval-{fresh}" class="">.*?</tr>', queue, re.S)
    assert old_row and "已超期" in old_row.group(0)
    assert fresh_row and "已超期" not in fresh_row.group(0)
    r = client.post(f"/bookings/{fresh}/approve", data={"csrf_token": csrf_token(client, "/approvals"),
                                                         "back": "bookings.approvals", "note": "ok"})
    assert r.status_code == 302 and r.headers["Location"] == "/approvals"
    assert f'id="approval-{fresh}"' not in client.get("/approvals").get_data(as_text=True)
    alice_client = signed_in(app, alice)
    row = re.search(rf'<tr id="booking-{fresh}" data-status="(\w+)"', alice_client.get("/bookings").get_data(as_text=True))
    assert row.group(1) == "approved"
    assert "预约已批准：" in alice_client.get("/notifications").get_data(as_text=True)


def test_enterprise_user_cannot_approve_and_sees_a_403_page(app, world):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab()
    booking = world.client.post("/api/v1/bookings", json=booking_body(lab, next_working_day()),
                                headers=world.token(alice)).json["id"]
    client = signed_in(app, alice)
    r = client.post(f"/bookings/{booking}/approve", data={"csrf_token": csrf_token(client, "/bookings")})
    assert r.status_code == 403 and "无权操作" in r.get_data(as_text=True)
    assert client.get("/approvals").status_code == 403


def test_lab_calendar_and_feed_urls_for_managers_and_enterprises(app, world):
    manager_id, manager = world.user("lab_manager")
    _, other_manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(manager_ids=[manager_id])
    day = next_working_day()
    world.client.post("/api/v1/bookings", json=booking_body(lab, day), headers=world.token(alice))
    client = signed_in(app, manager)
    calendar = client.get(f"/labs/{lab}/calendar?week={day.isoformat()}").get_data(as_text=True)
    assert "Enterprise 0" in calendar and "09:00–11:00" in calendar
    feed = re.search(r'id="lab-feed">http://localhost(/calendar/labs/[^<]+\.ics)<', calendar).group(1)
    assert b"BEGIN:VCALENDAR" in app.test_client().get(feed).data
    assert signed_in(app, other_manager).get(f"/labs/{lab}/calendar").status_code == 403
    mine = signed_in(app, alice).get("/bookings").get_data(as_text=True)
    feed = re.search(r'id="enterprise-feed">http://localhost(/calendar/enterprises/[^<]+\.ics)<', mine).group(1)
    assert b"life test" in app.test_client().get(feed).data


def test_admin_creates_a_lab_and_a_user_and_bad_input_is_shown(app, world):
    _, admin = world.user("admin")
    manager_id, _ = world.user("lab_manager")
    client = signed_in(app, admin)
    form = {"code": "EMC", "name": "电磁兼容实验室", "discipline": "EMC", "timezone": "Asia/Shanghai",
            "bays": "2", "fee_per_hour": "600", "fee_per_batch": "0", "approval_mode": "manager",
            "weekdays": ["0", "1", "2", "3", "4"], "opens": "08:30", "closes": "17:30",
            "manager_ids": [str(manager_id)]}
    r = client.post("/admin/labs", data={**form, "csrf_token": csrf_token(client, "/admin/labs")})
    assert r.status_code == 302
    assert "电磁兼容实验室" in client.get("/admin/labs").get_data(as_text=True)
    r = client.post("/admin/labs", data={**form, "bays": "zero", "timezone": "Mars/Olympus",
                                         "csrf_token": csrf_token(client, "/admin/labs")})
    assert r.status_code == 422 and "不是有效的整数" in r.get_data(as_text=True)
    r = client.post("/admin/labs", data={**form, "code": "EMC2", "timezone": "Mars/Olympus",
                                         "csrf_token": csrf_token(client, "/admin/labs")})
    assert r.status_code == 422 and "未知的时区 Mars/Olympus" in r.get_data(as_text=True)
    user = {"email": "carol@valve.example", "password": "long enough pw", "name": "Carol", "role": "enterprise",
            "enterprise_code": "91110000100001392H", "enterprise_name": "某阀门厂"}
    r = client.post("/admin/users", data={**user, "csrf_token": csrf_token(client, "/admin/users")})
    assert r.status_code == 302
    assert "carol@valve.example" in client.get("/admin/users").get_data(as_text=True)
    assert login(app.test_client(), "carol@valve.example", "long enough pw").status_code == 302
    r = client.post("/admin/users", data={**user, "email": "dan@valve.example", "enterprise_code": "123",
                                          "csrf_token": csrf_token(client, "/admin/users")})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "不是有效的统一社会信用代码" in page
    assert 'value="dan@valve.example"' in page and "long enough pw" not in page


def test_non_admin_cannot_open_admin_pages(app, world):
    _, manager = world.user("lab_manager")
    client = signed_in(app, manager)
    assert client.get("/admin/labs").status_code == 403
    assert client.get("/admin/users").status_code == 403


def test_api_docs_page_loads_swagger_ui_from_this_server(client):
    page = client.get("/api/docs").get_data(as_text=True)
    script = re.search(r'src="(/static/swagger-ui/swagger-ui-bundle\.js)"', page).group(1)
    r = client.get(script)
    assert r.status_code == 200 and b"SwaggerUIBundle" in r.data
    assert client.get("/static/swagger-ui/swagger-ui.css").status_code == 200
    assert client.get("/static/labs.css").status_code == 200


def test_weekly_repeat_all_or_nothing_shows_the_taken_week_and_skip_books_the_rest(app, world):
    _, alice = world.user("enterprise", enterprise=0)
    _, bob = world.user("enterprise", enterprise=1)
    lab = world.lab()
    day = next_working_day()
    taken = day + dt.timedelta(weeks=1)
    assert world.client.post("/api/v1/bookings", json=booking_body(lab, taken, 10, 12),
                             headers=world.token(bob)).status_code == 201
    client = signed_in(app, alice)
    r = _request(client, _form(lab, day, weeks="3", policy="all_or_nothing"))
    page = r.get_data(as_text=True)
    assert r.status_code == 409 and 'id="occurrences"' in page
    assert f"{taken.isoformat()} 09:00: 与其他预约冲突" in page
    assert world.client.get("/api/v1/bookings", headers=world.token(alice)).json == []
    r = _request(client, _form(lab, day, weeks="3", policy="skip_conflicts"))
    assert r.status_code == 302
    mine = world.client.get("/api/v1/bookings", headers=world.token(alice)).json
    assert sorted(b["starts_at"][:10] for b in mine) == [day.isoformat(), (day + dt.timedelta(weeks=2)).isoformat()]
    assert len({b["series_id"] for b in mine}) == 1
    assert f"{taken.isoformat()} 09:00" in client.get("/bookings").get_data(as_text=True)  # the skipped week is told
    r = _request(client, _form(lab, day, weeks="60"))
    assert r.status_code == 422 and "weeks" in r.get_data(as_text=True)


def test_a_taken_slot_offers_the_waitlist_and_a_cancellation_books_it_for_the_waiter(app, world):
    _, alice = world.user("enterprise", enterprise=0)
    _, bob = world.user("enterprise", enterprise=1)
    lab = world.lab(approval_mode="instant")
    day = next_working_day()
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, day), headers=world.token(bob))
    assert r.status_code == 201
    bobs = r.json["id"]
    client = signed_in(app, alice)
    r = _request(client, _form(lab, day))
    assert r.status_code == 409 and 'id="join-waitlist"' in r.get_data(as_text=True)
    r = _request(client, {**_form(lab, day), "waitlist": "1"})
    assert r.status_code == 302
    assert world.client.get("/api/v1/bookings", headers=world.token(alice)).json == []
    assert world.client.post(f"/api/v1/bookings/{bobs}/cancel", json={},
                             headers=world.token(bob)).status_code == 200
    mine = world.client.get("/api/v1/bookings", headers=world.token(alice)).json
    assert [(b["starts_at"][:16], b["status"]) for b in mine] == [(f"{day.isoformat()}T01:00", "approved")]


def test_my_bookings_lists_the_waitlist_and_a_place_can_be_given_up(app, world):
    _, alice = world.user("enterprise", enterprise=0)
    _, bob = world.user("enterprise", enterprise=1)
    lab = world.lab()
    day = next_working_day()
    assert world.client.post("/api/v1/bookings", json=booking_body(lab, day), headers=world.token(bob)).status_code == 201
    entry = world.client.post("/api/v1/waitlist", json=booking_body(lab, day), headers=world.token(alice)).json["id"]
    client = signed_in(app, alice)
    page = client.get("/bookings").get_data(as_text=True)
    assert f'<tr id="waitlist-{entry}" data-status="waiting">' in page and f"{day.isoformat()} 09:00" in page
    assert 'id="waitlist"' not in signed_in(app, bob).get("/bookings").get_data(as_text=True)
    r = client.post(f"/waitlist/{entry}/leave", data={"csrf_token": csrf_token(client, "/bookings")})
    assert r.status_code == 302
    assert f'<tr id="waitlist-{entry}" data-status="withdrawn">' in client.get("/bookings").get_data(as_text=True)


def test_the_feed_address_is_renewed_from_the_page_and_the_old_one_stops_working(app, world):
    manager_id, manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(manager_ids=[manager_id])
    feed = re.compile(r'<code id="(?:lab|enterprise)-feed">http://localhost([^<]+)</code>')
    for email, page, renew in ((manager, f"/labs/{lab}/calendar", f"/labs/{lab}/calendar/feed"),
                               (alice, "/bookings", "/bookings/feed")):
        client = signed_in(app, email)
        old = feed.search(client.get(page).get_data(as_text=True)).group(1)
        r = client.post(renew, data={"csrf_token": csrf_token(client, page)})
        assert r.status_code == 302 and r.headers["Location"] == page
        new = feed.search(client.get(page).get_data(as_text=True)).group(1)
        assert new != old
        assert client.get(old).status_code == 404 and client.get(new).status_code == 200
