"""The lab manager's page: rules and opening hours, instruments and their calibration, closures."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from labs.audit import AuditEntry
from labs.catalog.models import Lab
from labs.db import session_scope
from tests.conftest import booking_body, next_working_day
from tests.web.conftest import csrf_token, signed_in


def _post(client, lab_id: int, path: str, data: dict):
    return client.post(f"/labs/{lab_id}/manage{path}",
                       data={**data, "csrf_token": csrf_token(client, f"/labs/{lab_id}/manage")})


def _lab(app, lab_id: int) -> Lab:
    with app.app_context(), session_scope(app) as s:
        lab = s.get(Lab, lab_id)
        _ = lab.hours, lab.instruments, lab.closures
        return lab


def test_manager_changes_rules_and_opening_hours_and_the_change_is_audited(app, world):
    manager_id, manager = world.user("lab_manager")
    lab_id = world.lab(manager_ids=[manager_id])
    client = signed_in(app, manager)
    page = client.get(f"/labs/{lab_id}/manage").get_data(as_text=True)
    assert 'name="opens_0" value="08:00"' in page and 'name="bays" min="1" max="100" value="1"' in page
    hours = {f"opens_{d}": "08:30" for d in range(5)} | {f"closes_{d}": "17:00" for d in range(5)}
    r = _post(client, lab_id, "/settings", {"name": "Bearing lab", "bays": "3", "approval_mode": "instant",
                                            "fee_per_hour": "80", "fee_per_batch": "20", "set_hours": "1", **hours})
    assert r.status_code == 302, r.get_data(as_text=True)
    lab = _lab(app, lab_id)
    assert (lab.bays, lab.approval_mode, str(lab.fee_per_hour)) == (3, "instant", "80.00")
    assert [(h.weekday, h.opens, h.closes) for h in lab.hours] == [(d, dt.time(8, 30), dt.time(17)) for d in range(5)]
    # Saturday is now closed: a Saturday request breaks the opening hours; a weekday one is approved at once.
    _, alice = world.user("enterprise", enterprise=0)
    day = next_working_day()
    saturday = day + dt.timedelta(days=3)
    r = world.client.post("/api/v1/bookings", json=booking_body(lab_id, saturday), headers=world.token(alice))
    assert r.status_code == 422 and "opening hours" in r.json["errors"]["starts_at"][0]
    r = world.client.post("/api/v1/bookings", json=booking_body(lab_id, day), headers=world.token(alice))
    assert r.status_code == 201 and r.json["status"] == "approved" and r.json["fee"] == "200.00"
    with app.app_context(), session_scope(app) as s:
        entry = s.query(AuditEntry).filter_by(action="lab.update", entity_id=lab_id).one()
        assert entry.actor_id == manager_id
        assert (entry.before["bays"], entry.after["bays"]) == (1, 3)


def test_bad_settings_are_shown_with_the_input_kept_and_nothing_changes(app, world):
    manager_id, manager = world.user("lab_manager")
    lab_id = world.lab(manager_ids=[manager_id])
    client = signed_in(app, manager)
    r = _post(client, lab_id, "/settings", {"name": "Bearing lab", "bays": "0", "min_duration_minutes": "120",
                                            "max_duration_minutes": "60", "set_hours": "1",
                                            "opens_0": "18:00", "closes_0": "08:00"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="settings-errors"' in page and 'value="0"' in page and 'name="opens_0" value="18:00"' in page
    r = _post(client, lab_id, "/settings", {"name": "Bearing lab", "min_duration_minutes": "120",
                                            "max_duration_minutes": "60"})
    assert r.status_code == 422 and "不能小于最短时长" in r.get_data(as_text=True)  # the page's language
    lab = _lab(app, lab_id)
    assert (lab.bays, lab.min_duration_minutes, len(lab.hours)) == (1, 30, 7)


def test_recording_a_new_calibration_makes_an_instrument_bookable_again(app, world):
    manager_id, manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    lab_id = world.lab(manager_ids=[manager_id], instruments=[
        {"code": "CT-1", "name": "industrial CT", "certificate_no": "JJG-1",
         "calibration_valid_until": dt.date.today() - dt.timedelta(days=1)}])
    instrument_id = _lab(app, lab_id).instruments[0].id
    body = booking_body(lab_id, next_working_day(), instrument_ids=[instrument_id])
    r = world.client.post("/api/v1/bookings", json=body, headers=world.token(alice))
    assert r.status_code == 422 and "CT-1" in r.json["errors"]["instrument_ids"][0]
    client = signed_in(app, manager)
    page = client.get(f"/labs/{lab_id}/manage").get_data(as_text=True)
    assert f'<tr class="bad" id="instrument-{instrument_id}">' in page
    r = _post(client, lab_id, f"/instruments/{instrument_id}", {"certificate_no": "JJG-2",
                                                                "calibration_valid_until": "not a date"})
    assert r.status_code == 422 and "不是有效的日期" in r.get_data(as_text=True)
    valid_until = (dt.date.today() + dt.timedelta(days=365)).isoformat()
    r = _post(client, lab_id, f"/instruments/{instrument_id}", {"certificate_no": "JJG-2",
                                                                "calibration_valid_until": valid_until})
    assert r.status_code == 302
    instrument = _lab(app, lab_id).instruments[0]
    assert (instrument.certificate_no, instrument.calibration_valid_until.isoformat()) == ("JJG-2", valid_until)
    assert world.client.post("/api/v1/bookings", json=body, headers=world.token(alice)).status_code == 201


def test_manager_adds_an_instrument_and_a_closure_that_refuses_bookings_with_its_reason(app, world):
    manager_id, manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    lab_id = world.lab(manager_ids=[manager_id])
    client = signed_in(app, manager)
    r = _post(client, lab_id, "/instruments", {"code": "TQ-7", "name": "torque meter", "certificate_no": "C7",
                                               "calibration_valid_until": "2031-06-30"})
    assert r.status_code == 302
    assert [(i.code, i.calibration_valid_until) for i in _lab(app, lab_id).instruments] == [("TQ-7", dt.date(2031, 6, 30))]
    day = next_working_day()
    r = _post(client, lab_id, "/closures", {"starts_at_date": day.isoformat(), "starts_at_time": "08:00",
                                            "ends_at_date": day.isoformat(), "ends_at_time": "12:00",
                                            "reason": "spindle maintenance"})
    assert r.status_code == 302
    closure = _lab(app, lab_id).closures[0]
    assert closure.starts_at == dt.datetime.combine(day, dt.time(0), dt.timezone.utc)  # 08:00 in Shanghai
    assert "spindle maintenance" in client.get(f"/labs/{lab_id}/manage").get_data(as_text=True)
    r = world.client.post("/api/v1/bookings", json=booking_body(lab_id, day, 9, 11), headers=world.token(alice))
    assert r.status_code == 422 and "spindle maintenance" in r.json["errors"]["starts_at"][0]
    assert world.client.post("/api/v1/bookings", json=booking_body(lab_id, day, 12, 14),
                             headers=world.token(alice)).status_code == 201
    r = _post(client, lab_id, "/closures", {"starts_at_date": day.isoformat(), "starts_at_time": "14:00",
                                            "ends_at_date": day.isoformat(), "ends_at_time": "13:00", "reason": ""})
    assert r.status_code == 422 and 'id="closure-errors"' in r.get_data(as_text=True)  # no reason given
    r = _post(client, lab_id, "/closures", {"starts_at_date": day.isoformat(), "starts_at_time": "14:00",
                                            "ends_at_date": day.isoformat(), "ends_at_time": "13:00",
                                            "reason": "inventory"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "必须晚于开始时间" in page and 'value="inventory"' in page
    assert len(_lab(app, lab_id).closures) == 1


def test_only_the_labs_managers_and_admins_manage_it(app, world):
    manager_id, manager = world.user("lab_manager")
    _, other_manager = world.user("lab_manager")
    _, admin = world.user("admin")
    _, alice = world.user("enterprise", enterprise=0)
    lab_id = world.lab(manager_ids=[manager_id])
    assert signed_in(app, manager).get(f"/labs/{lab_id}/manage").status_code == 200
    assert signed_in(app, admin).get(f"/labs/{lab_id}/manage").status_code == 200
    assert signed_in(app, other_manager).get(f"/labs/{lab_id}/manage").status_code == 403
    assert signed_in(app, alice).get(f"/labs/{lab_id}/manage").status_code == 403
    r = app.test_client().get(f"/labs/{lab_id}/manage")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    # A manager cannot reach another lab's instrument through their own lab's page.
    other_lab = world.lab(instruments=[{"code": "X", "name": "x", "calibration_valid_until": dt.date(2030, 1, 1)}])
    foreign = _lab(app, other_lab).instruments[0].id
    mine = world.lab(manager_ids=[manager_id])
    r = _post(signed_in(app, manager), mine, f"/instruments/{foreign}", {"calibration_valid_until": "2040-01-01"})
    assert r.status_code == 404
    assert _lab(app, other_lab).instruments[0].calibration_valid_until == dt.date(2030, 1, 1)


def test_split_opening_hours_are_shown_and_kept_when_other_settings_change(app, world):
    manager_id, manager = world.user("lab_manager")
    split = [{"weekday": 0, "opens": dt.time(8), "closes": dt.time(12)},
             {"weekday": 0, "opens": dt.time(13), "closes": dt.time(17)}]
    lab_id = world.lab(manager_ids=[manager_id], hours=split)
    client = signed_in(app, manager)
    page = client.get(f"/labs/{lab_id}/manage").get_data(as_text=True)
    assert 'id="split-hours"' in page and 'name="set_hours"' not in page
    assert _post(client, lab_id, "/settings", {"name": "Bearing lab", "bays": "2"}).status_code == 302
    lab = _lab(app, lab_id)
    assert lab.bays == 2 and [(h.opens, h.closes) for h in lab.hours] == [(dt.time(8), dt.time(12)), (dt.time(13), dt.time(17))]


def test_the_page_shows_this_months_usage(app, world):
    from booking import service
    from booking.service import BookingRequest
    from labs.accounts.models import User
    from labs.workdays import day_kind
    manager_id, manager = world.user("lab_manager")
    owner_id, _ = world.user("enterprise", enterprise=0)
    lab_id = world.lab(manager_ids=[manager_id])
    tz = ZoneInfo("Asia/Shanghai")
    day = dt.datetime.now(tz).date().replace(day=1)
    while not day_kind(day).working:
        day += dt.timedelta(days=1)
    start = dt.datetime.combine(day, dt.time(9), tz)
    with app.app_context(), session_scope(app) as s:
        owner, boss = s.get(User, owner_id), s.get(User, manager_id)
        booking = service.request_booking(s, owner, BookingRequest(
            lab_id, start, start + dt.timedelta(hours=2), "life test", "bearings", 3, "Zhang", "13800000000"),
            now=start - dt.timedelta(days=1))
        for action in ("approve", "check_in", "complete"):  # while the slot is under way
            service.transition(s, boss, booking.id, action, now=start + dt.timedelta(minutes=30))
    page = signed_in(app, manager).get(f"/labs/{lab_id}/manage").get_data(as_text=True)
    row = page[page.index(f'<tr data-month="{day:%Y-%m}">'):]
    row = row[:row.index("</tr>")]
    cells = [cell.split("<")[0] for cell in row.split("<td>")[1:]]
    booked, bookings_no_shows_enterprises_batches = cells[2], cells[4:]
    assert (booked, bookings_no_shows_enterprises_batches) == ("2.0", ["1", "0", "1", "3"])


def _closure(app, lab_id: int, day: dt.date, reason: str = "spindle maintenance") -> int:
    """A closure of `day` 08:00-12:00 in Shanghai, added through the service."""
    from labs.accounts.service import SYSTEM
    from labs.catalog.service import add_closure
    tz = ZoneInfo("Asia/Shanghai")
    with app.app_context(), session_scope(app) as s:
        return add_closure(s, SYSTEM, lab_id, dt.datetime.combine(day, dt.time(8), tz),
                           dt.datetime.combine(day, dt.time(12), tz), reason).id


def _audited(app, action: str, entity_id: int) -> list[AuditEntry]:
    with app.app_context(), session_scope(app) as s:
        return s.query(AuditEntry).filter_by(action=action, entity_id=entity_id).all()


def test_manager_removes_a_closure_and_the_time_can_be_booked_again(app, world):
    manager_id, manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    lab_id = world.lab(manager_ids=[manager_id])
    day = next_working_day()
    closure_id = _closure(app, lab_id, day)
    r = world.client.post("/api/v1/bookings", json=booking_body(lab_id, day, 9, 11), headers=world.token(alice))
    assert r.status_code == 422 and "spindle maintenance" in r.json["errors"]["starts_at"][0]
    client = signed_in(app, manager)
    page = client.get(f"/labs/{lab_id}/manage").get_data(as_text=True)
    assert f'id="confirm-remove-closure-{closure_id}"' in page  # inside its row's confirm step
    r = _post(client, lab_id, f"/closures/{closure_id}/remove", {})
    assert r.status_code == 302 and r.headers["Location"] == f"/labs/{lab_id}/manage"
    page = client.get(f"/labs/{lab_id}/manage").get_data(as_text=True)
    assert f"{day} 08:00 至 {day} 12:00 的停用时段已删除" in page and f'id="closure-{closure_id}"' not in page
    assert _lab(app, lab_id).closures == []
    assert [entry.actor_id for entry in _audited(app, "closure.delete", closure_id)] == [manager_id]
    r = world.client.post("/api/v1/bookings", json=booking_body(lab_id, day, 9, 11), headers=world.token(alice))
    assert r.status_code == 201
    # Removed already (a second tab, a second click): not found, said in the reader's language.
    r = _post(client, lab_id, f"/closures/{closure_id}/remove?lang=en", {})
    assert r.status_code == 404 and f"no closure with id {closure_id} in this lab" in r.get_data(as_text=True)


def test_another_labs_closure_cannot_be_removed_through_ones_own_lab(app, world):
    manager_id, manager = world.user("lab_manager")
    mine = world.lab(manager_ids=[manager_id])
    other_lab = world.lab()
    foreign = _closure(app, other_lab, next_working_day())
    client = signed_in(app, manager)
    r = _post(client, mine, f"/closures/{foreign}/remove", {})
    assert r.status_code == 404 and f"本实验室没有编号为 {foreign} 的停用时段" in r.get_data(as_text=True)
    assert _post(client, other_lab, f"/closures/{foreign}/remove", {}).status_code == 403  # not their lab
    assert [c.id for c in _lab(app, other_lab).closures] == [foreign]


def test_a_remove_or_retire_without_the_forms_csrf_token_is_refused(app, world):
    manager_id, manager = world.user("lab_manager")
    lab_id = world.lab(manager_ids=[manager_id], instruments=[
        {"code": "TQ-1", "name": "torque meter", "calibration_valid_until": dt.date(2031, 1, 1)}])
    closure_id = _closure(app, lab_id, next_working_day())
    instrument_id = _lab(app, lab_id).instruments[0].id
    client = signed_in(app, manager)
    for path in (f"/closures/{closure_id}/remove", f"/instruments/{instrument_id}/retire"):
        r = client.post(f"/labs/{lab_id}/manage{path}", data={})
        assert r.status_code == 400 and "表单已失效" in r.get_data(as_text=True)
    lab = _lab(app, lab_id)
    assert [c.id for c in lab.closures] == [closure_id] and [i.id for i in lab.instruments] == [instrument_id]


def test_manager_retires_an_instrument_it_leaves_the_list_and_bookings_that_name_it_keep_it(app, world):
    from booking.models import Booking
    manager_id, manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    lab_id = world.lab(manager_ids=[manager_id], instruments=[
        {"code": "CT-1", "name": "industrial CT", "calibration_valid_until": dt.date(2031, 1, 1)},
        {"code": "TQ-1", "name": "torque meter", "calibration_valid_until": dt.date(2031, 1, 1)}])
    ct, tq = (i.id for i in _lab(app, lab_id).instruments)
    day = next_working_day()
    r = world.client.post("/api/v1/bookings", json=booking_body(lab_id, day, instrument_ids=[ct]),
                          headers=world.token(alice))
    assert r.status_code == 201
    booking_id = r.json["id"]
    client = signed_in(app, manager)
    r = _post(client, lab_id, f"/instruments/{ct}/retire", {})
    assert r.status_code == 302
    page = client.get(f"/labs/{lab_id}/manage").get_data(as_text=True)
    assert "仪器 CT-1 已停用" in page
    assert f'id="instrument-{ct}"' not in page and f'id="instrument-{tq}"' in page
    assert [i.code for i in _lab(app, lab_id).instruments] == ["TQ-1"]
    assert [entry.actor_id for entry in _audited(app, "instrument.retire", ct)] == [manager_id]
    with app.app_context(), session_scope(app) as s:
        booking = s.get(Booking, booking_id)
        assert (booking.status, [i.code for i in booking.instruments]) == ("requested", ["CT-1"])
    r = world.client.post("/api/v1/bookings", json=booking_body(lab_id, day, 13, 15, instrument_ids=[ct]),
                          headers=world.token(alice))
    assert r.status_code == 422 and "instrument_ids" in r.json["errors"]
    # Retired already (a page opened before): refused with the day it was retired.
    r = _post(client, lab_id, f"/instruments/{ct}/retire", {})
    assert r.status_code == 302
    page = client.get(f"/labs/{lab_id}/manage").get_data(as_text=True)
    assert "仪器 CT-1 已于" in page and 'class="flash error"' in page
    assert len(_audited(app, "instrument.retire", ct)) == 1
    # Another lab's instrument is not found through this lab.
    other_lab = world.lab(instruments=[{"code": "X", "name": "x", "calibration_valid_until": dt.date(2031, 1, 1)}])
    foreign = _lab(app, other_lab).instruments[0].id
    assert _post(client, lab_id, f"/instruments/{foreign}/retire", {}).status_code == 404
    assert [i.id for i in _lab(app, other_lab).instruments] == [foreign]


def _managers(app, lab_id: int) -> list[int]:
    with app.app_context(), session_scope(app) as s:
        return sorted(user.id for user in s.get(Lab, lab_id).managers)


def test_the_administrator_assigns_a_labs_managers_on_its_page(app, world):
    manager_id, manager = world.user("lab_manager")
    new_id, new_manager = world.user("lab_manager")
    technician_id, _ = world.user("technician")
    _, admin_email = world.user("admin")
    lab_id = world.lab(manager_ids=[manager_id])
    admin = signed_in(app, admin_email)
    # The lab list shows the managers and links to the lab's page for them; it edits them no more.
    listing = admin.get("/admin/labs").get_data(as_text=True)
    assert f'href="/labs/{lab_id}/manage#managers-card"' in listing
    assert f"/admin/labs/{lab_id}/managers" not in listing
    assert admin.post(f"/admin/labs/{lab_id}/managers",
                      data={"csrf_token": csrf_token(admin, "/admin/labs")}).status_code == 404
    page = admin.get(f"/labs/{lab_id}/manage").get_data(as_text=True)
    assert f'name="manager_ids" value="{manager_id}" checked' in page
    assert f'name="manager_ids" value="{new_id}" >' in page
    r = _post(admin, lab_id, "/managers", {"manager_ids": [str(manager_id), str(new_id)]})
    assert r.status_code == 302 and _managers(app, lab_id) == sorted([manager_id, new_id])
    assert "负责人已保存" in admin.get(f"/labs/{lab_id}/manage").get_data(as_text=True)
    assert signed_in(app, new_manager).get(f"/labs/{lab_id}/manage").status_code == 200
    # Not a lab manager: refused, the boxes as ticked, nothing changed.
    r = _post(admin, lab_id, "/managers", {"manager_ids": [str(new_id), str(technician_id)]})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and f"不是实验室负责人：{technician_id}" in page
    assert f'name="manager_ids" value="{manager_id}" >' in page and f'value="{new_id}" checked' in page
    assert _managers(app, lab_id) == sorted([manager_id, new_id])
    # None ticked: only the administrators manage it.
    assert _post(admin, lab_id, "/managers", {}).status_code == 302 and _managers(app, lab_id) == []
    assert signed_in(app, manager).get(f"/labs/{lab_id}/manage").status_code == 403
    audit = _audited(app, "lab.update", lab_id)
    assert [(e.before["manager_ids"], e.after["manager_ids"]) for e in audit] == [
        ([manager_id], sorted([manager_id, new_id])), (sorted([manager_id, new_id]), [])]


def test_a_lab_manager_sees_the_managers_but_may_not_change_them(app, world):
    manager_id, manager = world.user("lab_manager")
    other_id, _ = world.user("lab_manager")
    lab_id = world.lab(manager_ids=[manager_id])
    client = signed_in(app, manager)
    page = client.get(f"/labs/{lab_id}/manage").get_data(as_text=True)
    card = page[page.index('id="managers-card"'):page.index('id="technicians-card"')]
    assert manager in card and 'name="manager_ids"' not in card and "由系统管理员指定" in card
    r = _post(client, lab_id, "/managers", {"manager_ids": [str(manager_id), str(other_id)]})
    assert r.status_code == 403 and "只有系统管理员可以指定实验室负责人" in r.get_data(as_text=True)
    assert _managers(app, lab_id) == [manager_id]
    r = client.post(f"/labs/{lab_id}/manage/managers", data={"manager_ids": [str(other_id)]})  # no CSRF token
    assert r.status_code == 400 and _managers(app, lab_id) == [manager_id]


def test_an_empty_settings_form_is_refused_not_saved(app, world):
    manager_id, manager = world.user("lab_manager")
    lab_id = world.lab(manager_ids=[manager_id], public_benefit=True)
    client = signed_in(app, manager)
    for form in ({}, {"set_hours": "1", "name": " ", "max_weekly_hours_per_enterprise": ""}):
        r = _post(client, lab_id, "/settings", form)
        page = r.get_data(as_text=True)
        assert r.status_code == 422 and 'id="settings-errors"' in page and "没有要修改的内容：表单是空的" in page
    lab = _lab(app, lab_id)
    assert (lab.name, lab.public_benefit, len(lab.hours)) == ("Bearing lab", True, 7)
    assert _audited(app, "lab.update", lab_id) == []


def test_opening_hours_errors_name_their_weekday(app, world):
    manager_id, manager = world.user("lab_manager")
    lab_id = world.lab(manager_ids=[manager_id])
    client = signed_in(app, manager)
    hours = {f"opens_{d}": "08:00" for d in range(7)} | {f"closes_{d}": "18:00" for d in range(7)}
    for closes, said in (("", "星期三关门时间：此项为必填项。"), ("25:99", "星期三关门时间：不是有效的时间。"),
                         ("07:00", "星期三")):
        r = _post(client, lab_id, "/settings", {"name": "Bearing lab", "set_hours": "1", **hours, "closes_2": closes})
        page = r.get_data(as_text=True)
        errors = page[page.index('id="settings-errors"'):]
        errors = errors[:errors.index("</div>")]
        assert r.status_code == 422 and said in errors, errors
    r = _post(client, lab_id, "/settings?lang=en", {"name": "Bearing lab", "set_hours": "1", **hours, "opens_4": "8 am"})
    assert "Friday, Opens: Not a valid time." in r.get_data(as_text=True)
    assert [(h.opens, h.closes) for h in _lab(app, lab_id).hours] == [(dt.time(8), dt.time(18))] * 7


def test_a_certificate_already_expired_is_refused_and_one_running_out_is_warned_about(app, world):
    manager_id, manager = world.user("lab_manager")
    soon = dt.date.today() + dt.timedelta(days=10)
    lab_id = world.lab(manager_ids=[manager_id], instruments=[
        {"code": "TQ-1", "name": "torque meter", "calibration_valid_until": soon}])
    instrument_id = _lab(app, lab_id).instruments[0].id
    client = signed_in(app, manager)
    page = client.get(f"/labs/{lab_id}/manage").get_data(as_text=True)
    assert f'<tr class="warn" id="instrument-{instrument_id}">' in page and "30 天内到期" in page
    expired = dt.date.today() - dt.timedelta(days=30)
    r = _post(client, lab_id, "/instruments", {"code": "CT-1", "name": "industrial CT",
                                               "calibration_valid_until": expired.isoformat()})
    assert r.status_code == 422 and "校准证书已于" in r.get_data(as_text=True)
    r = _post(client, lab_id, f"/instruments/{instrument_id}", {"certificate_no": "C2",
                                                                "calibration_valid_until": expired.isoformat()})
    assert r.status_code == 422 and "校准证书已于" in r.get_data(as_text=True)
    assert [(i.code, i.calibration_valid_until) for i in _lab(app, lab_id).instruments] == [("TQ-1", soon)]
