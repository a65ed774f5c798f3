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
