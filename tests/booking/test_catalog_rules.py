"""The catalog's rules as a booking meets them: closures, calibration, hours, durations, advance,
statutory holidays, and the availability endpoint, on both backends."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from sqlalchemy import select

from booking import service
from booking.service import BookingRequest
from labs.accounts.models import User
from labs.db import session_scope
from labs.errors import Invalid
from tests.booking.support import UTC, instant, local, working_wednesdays
from tests.conftest import booking_body, next_working_day
from tests.holidays import first_uncovered_year

WEEKDAYS_8_TO_18 = [{"weekday": d, "opens": dt.time(8), "closes": dt.time(18)} for d in range(5)]


def _days(year: int):
    day = dt.date(year, 1, 1)
    while day.year == year:
        yield day
        day += dt.timedelta(days=1)


def _statutory_holiday_on_a_weekday() -> tuple[dt.date, str]:
    """The latest one the holiday library knows (it knows no future years, so it may be past)."""
    year = first_uncovered_year() - 1
    for day in reversed(list(_days(year))):
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        if on_holiday and name and day.weekday() < 5:
            return day, name
    raise AssertionError(f"no statutory holiday found in {year}")


def _makeup_working_saturday() -> dt.date:
    year = first_uncovered_year() - 1
    for day in reversed(list(_days(year))):
        if day.weekday() == 5 and chinese_calendar.is_workday(day):
            return day
    raise AssertionError(f"no make-up working Saturday found in {year}")


def _refused(world, headers, body) -> dict:
    r = world.client.post("/api/v1/bookings", json=body, headers=headers)
    assert r.status_code == 422, r.json
    assert r.mimetype == "application/problem+json"
    return r.json["errors"]


def _enterprise(world, n=0):
    _, email = world.user("enterprise", enterprise=n)
    return world.token(email)


# --- refusals ----------------------------------------------------------------------------------------

def test_booking_in_a_closure_is_refused_with_the_reason(world):
    _, admin = world.user("admin")
    headers = _enterprise(world)
    lab = world.lab()
    day = working_wednesdays(1)
    r = world.client.post(f"/api/v1/labs/{lab}/closures", headers=world.token(admin), json={
        "starts_at": local(day, 10).isoformat(), "ends_at": local(day, 13).isoformat(),
        "reason": "annual maintenance of the life-test rig"})
    assert r.status_code == 201, r.json
    errors = _refused(world, headers, booking_body(lab, day, 9, 11))
    assert len(errors["starts_at"]) == 1
    assert "annual maintenance of the life-test rig" in errors["starts_at"][0]
    assert f"{day:%b} {day.day}, {day.year}, 10:00–13:00 Beijing time" in errors["starts_at"][0]  # local, human
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, day, 13, 15), headers=headers)
    assert r.status_code == 201, r.json  # the closure is half-open: it ends where this begins


def test_instrument_out_of_calibration_at_the_slot_is_refused_naming_it_and_its_validity(world):
    headers = _enterprise(world)
    day = working_wednesdays(1)
    lab = world.lab(instruments=[
        {"code": "CT-7", "name": "industrial CT", "certificate_no": "JJ2026-118",
         "calibration_valid_until": day - dt.timedelta(days=1)},
        {"code": "TQ-2", "name": "torque sensor", "certificate_no": "JJ2026-119",
         "calibration_valid_until": day}])
    r = world.client.get(f"/api/v1/labs/{lab}")
    ids = {i["code"]: i["id"] for i in r.json["instruments"]}
    errors = _refused(world, headers, booking_body(lab, day, instrument_ids=[ids["CT-7"], ids["TQ-2"]]))
    assert list(errors) == ["instrument_ids"] and len(errors["instrument_ids"]) == 1
    message = errors["instrument_ids"][0]
    assert "CT-7" in message and "industrial CT" in message and "JJ2026-118" in message
    before = day - dt.timedelta(days=1)
    assert f"valid until {before:%b} {before.day}, {before.year}" in message
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, day, instrument_ids=[ids["TQ-2"]]),
                          headers=headers)
    assert r.status_code == 201, r.json  # valid through the last day of the slot
    assert r.json["instrument_ids"] == [ids["TQ-2"]]


# A slot early in the morning in Shanghai lies on the day before in UTC; one in the evening in Los
# Angeles on the day after: the certificate must hold on the slot's last day in the lab's time zone.
@pytest.mark.parametrize("timezone, start_hour, end_hour", [("Asia/Shanghai", 6, 7.5),
                                                            ("America/Los_Angeles", 17, 19)])
def test_calibration_must_hold_on_the_slots_last_day_in_the_labs_time_zone(world, timezone, start_hour, end_hour):
    headers = _enterprise(world)
    day = working_wednesdays(1)
    tz = ZoneInfo(timezone)
    lab = world.lab(timezone=timezone, hours=[{"weekday": d, "opens": dt.time(6), "closes": dt.time(20)}
                                              for d in range(7)], instruments=[
        {"code": "OLD", "name": "expired the day before", "calibration_valid_until": day - dt.timedelta(days=1)},
        {"code": "NEW", "name": "valid through the day", "calibration_valid_until": day}])
    ids = {i["code"]: i["id"] for i in world.client.get(f"/api/v1/labs/{lab}").json["instruments"]}
    at = {"starts_at": _at(day, start_hour, tz).isoformat(), "ends_at": _at(day, end_hour, tz).isoformat()}
    errors = _refused(world, headers, booking_body(lab, day, instrument_ids=[ids["OLD"]]) | at)
    assert list(errors) == ["instrument_ids"] and f"out of calibration on {day:%b} {day.day}, {day.year}" in errors["instrument_ids"][0]
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, day, instrument_ids=[ids["NEW"]]) | at,
                          headers=headers)
    assert r.status_code == 201, r.json

    r = world.client.get(f"/api/v1/labs/{lab}/availability", query_string={"from": day, "to": day})
    assert {i["code"]: i["usable_until_end"] for i in r.json["instruments"]} == {"OLD": False, "NEW": True}


def _at(day: dt.date, hour: float, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(int(hour), int(round(hour % 1 * 60))), tz)


@pytest.mark.parametrize("start, end, lab_settings, expected", [
    (17, 19, {}, "outside the lab's opening hours"),
    (7.5, 9, {}, "outside the lab's opening hours"),
    (9, 9.25, {}, "shorter than the lab's minimum of 30 minutes"),
    (9, 12, {"max_duration_minutes": 120}, "longer than the lab's maximum of 120 minutes"),
])
def test_slot_breaking_a_lab_rule_is_refused_with_422_on_starts_at(world, start, end, lab_settings, expected):
    headers = _enterprise(world)
    lab = world.lab(**lab_settings)
    errors = _refused(world, headers, booking_body(lab, working_wednesdays(1), start, end))
    assert list(errors) == ["starts_at"]
    assert any(expected in m for m in errors["starts_at"]), errors


def test_slot_further_ahead_than_the_lab_allows_is_refused(world):
    headers = _enterprise(world)
    lab = world.lab(max_advance_days=30)
    far = next_working_day(dt.date.today() + dt.timedelta(days=30))
    errors = _refused(world, headers, booking_body(lab, far))
    assert errors == {"starts_at": ["more than 30 days ahead"]}


def test_every_broken_rule_is_reported_under_its_own_field(world):
    headers = _enterprise(world)
    day = working_wednesdays(1)
    lab = world.lab(instruments=[{"code": "M-1", "name": "manometer", "calibration_valid_until": dt.date(2020, 1, 1)}])
    instrument = world.client.get(f"/api/v1/labs/{lab}").json["instruments"][0]["id"]
    errors = _refused(world, headers, booking_body(lab, day, 9, 9.25, instrument_ids=[instrument],
                                                   missing_documents="test outline"))
    assert set(errors) == {"starts_at", "instrument_ids", "commitment_signed"}


def test_booking_on_a_statutory_holiday_is_refused_naming_the_holiday(world, app):
    """The holiday library knows no future year, so the request is made through the service at a
    `now` before the holiday; the HTTP API would give the same errors as a 422."""
    _, email = world.user("enterprise", enterprise=0)
    lab = world.lab()  # open every day of the week, 08:00-18:00
    holiday, name = _statutory_holiday_on_a_weekday()
    now = dt.datetime.combine(holiday - dt.timedelta(days=10), dt.time(), UTC)
    req = BookingRequest(lab_id=lab, starts_at=local(holiday, 9), ends_at=local(holiday, 11), test_type="t",
                         sample_description="s", batches=1, contact_name="c", contact_phone="13800000000")
    with app.app_context(), session_scope(app) as s:
        actor = s.scalar(select(User).where(User.email == email))
        with pytest.raises(Invalid) as refused:
            service.request_booking(s, actor, req, now=now)
    assert list(refused.value.extra["errors"]) == ["starts_at"]
    assert refused.value.code == "statutory_holiday"
    assert refused.value.extra["errors"]["starts_at"] == [
        f"{holiday:%b} {holiday.day}, {holiday.year} is a statutory holiday ({name}): the lab is closed"]

    r = world.client.get(f"/api/v1/labs/{lab}/availability", query_string={"from": holiday, "to": holiday})
    assert r.status_code == 200, r.json
    shown = r.json["days"][0]
    assert (shown["working_day"], shown["holiday"], shown["calendar_covered"], shown["open"]) == (False, name, True, [])


# --- availability ------------------------------------------------------------------------------------

def test_availability_shows_busy_and_free_time_per_bay_closures_and_instrument_validity(world):
    _, admin = world.user("admin")
    alice, bob = _enterprise(world, 0), _enterprise(world, 1)
    day = working_wednesdays(1)
    lab = world.lab(bays=2, hours=WEEKDAYS_8_TO_18, instruments=[
        {"code": "A-1", "name": "still valid", "calibration_valid_until": day + dt.timedelta(days=1)},
        {"code": "B-1", "name": "expires first", "calibration_valid_until": day - dt.timedelta(days=1)}])
    for headers, (start, end) in ((alice, (9, 11)), (bob, (10, 12))):
        assert world.client.post("/api/v1/bookings", json=booking_body(lab, day, start, end),
                                 headers=headers).status_code == 201
    cancelled = world.client.post("/api/v1/bookings", json=booking_body(lab, day, 13, 14), headers=alice).json
    assert world.client.post(f"/api/v1/bookings/{cancelled['id']}/cancel", json={}, headers=alice).status_code == 200
    assert world.client.post(f"/api/v1/labs/{lab}/closures", headers=world.token(admin), json={
        "starts_at": local(day, 16).isoformat(), "ends_at": local(day, 18).isoformat(),
        "reason": "calibration of the reference"}).status_code == 201

    r = world.client.get(f"/api/v1/labs/{lab}/availability", query_string={"from": day, "to": day})
    assert r.status_code == 200, r.json

    def spans(items):
        return [(instant(i["starts_at"]), instant(i["ends_at"])) for i in items]

    def hours(*pairs):
        return [(local(day, a), local(day, b)) for a, b in pairs]

    (shown,) = r.json["days"]
    assert shown["date"] == day.isoformat() and shown["working_day"] is True
    assert spans(shown["open"]) == hours((8, 18))
    assert [c["reason"] for c in shown["closures"]] == ["calibration of the reference"]
    assert spans(shown["closures"]) == hours((16, 18))
    bays = {b["bay"]: b for b in shown["bays"]}
    assert spans(bays[1]["busy"]) == hours((9, 11))
    assert spans(bays[1]["free"]) == hours((8, 9), (11, 16))
    assert spans(bays[2]["busy"]) == hours((10, 12))
    assert spans(bays[2]["free"]) == hours((8, 10), (12, 16))
    validity = {i["code"]: (i["calibration_valid_until"], i["usable_until_end"]) for i in r.json["instruments"]}
    assert validity == {"A-1": (str(day + dt.timedelta(days=1)), True),
                        "B-1": (str(day - dt.timedelta(days=1)), False)}


def test_makeup_working_saturday_opens_with_working_day_hours(world):
    lab = world.lab(hours=WEEKDAYS_8_TO_18)
    saturday = _makeup_working_saturday()
    r = world.client.get(f"/api/v1/labs/{lab}/availability", query_string={"from": saturday, "to": saturday})
    (shown,) = r.json["days"]
    assert shown["working_day"] is True and shown["holiday"]
    assert [(instant(o["starts_at"]), instant(o["ends_at"])) for o in shown["open"]] == [
        (local(saturday, 8), local(saturday, 18))]


def test_availability_for_a_year_without_holiday_data_falls_back_to_the_law_and_weekends_and_says_so(world):
    lab = world.lab(hours=WEEKDAYS_8_TO_18)
    year = first_uncovered_year()
    first, last = dt.date(year - 1, 12, 28), dt.date(year, 1, 10)
    r = world.client.get(f"/api/v1/labs/{lab}/availability", query_string={"from": first, "to": last})
    assert r.status_code == 200, r.json
    assert str(year) in r.json["calendar_note"] and str(year - 1) not in r.json["calendar_note"]
    assert "statutory holidays" in r.json["calendar_note"] and "weekends" in r.json["calendar_note"]
    for shown in r.json["days"]:
        day = dt.date.fromisoformat(shown["date"])
        assert shown["calendar_covered"] is (day.year < year)
        if day.year == year:
            new_year = day == dt.date(year, 1, 1)  # fixed by law, whatever the year's schedule says
            assert shown["working_day"] is (day.weekday() < 5 and not new_year)
            assert shown["holiday"] == ("New Year's Day" if new_year else None)
            assert bool(shown["open"]) is shown["working_day"]
    r = world.client.get(f"/api/v1/labs/{lab}/availability",
                         query_string={"from": dt.date(year - 1, 6, 1), "to": dt.date(year - 1, 6, 30)})
    assert r.json["calendar_note"] is None


def test_booking_in_a_year_without_holiday_data_is_accepted_on_a_weekday(world):
    headers = _enterprise(world)
    lab = world.lab(hours=WEEKDAYS_8_TO_18, max_advance_days=3000)
    day = max(dt.date(first_uncovered_year(), 1, 4), next_working_day())
    while day.weekday() != 2:
        day += dt.timedelta(days=1)
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, day), headers=headers)
    assert r.status_code == 201, r.json
    saturday = day + dt.timedelta(days=3)
    errors = _refused(world, headers, booking_body(lab, saturday))
    assert "opening hours" in errors["starts_at"][0]


def test_an_instrument_code_is_taken_once_per_lab_and_a_second_is_refused_with_409(world):
    manager_id, manager = world.user("lab_manager")
    headers = world.token(manager)
    lab, other_lab = world.lab(manager_ids=[manager_id]), world.lab(manager_ids=[manager_id])
    gauge = {"code": "TQ-1", "name": "torque meter", "calibration_valid_until": "2030-01-01"}
    first = world.client.post(f"/api/v1/labs/{lab}/instruments", json=gauge, headers=headers)
    assert first.status_code == 201
    again = world.client.post(f"/api/v1/labs/{lab}/instruments", json={**gauge, "name": "another"}, headers=headers)
    assert again.status_code == 409 and "already has an instrument TQ-1" in again.json["detail"]
    assert world.client.post(f"/api/v1/labs/{other_lab}/instruments", json=gauge, headers=headers).status_code == 201
    second = world.client.post(f"/api/v1/labs/{lab}/instruments", json={**gauge, "code": "TQ-2"}, headers=headers).json
    r = world.client.patch(f"/api/v1/labs/{lab}/instruments/{second['id']}", json={"code": "TQ-1"}, headers=headers)
    assert r.status_code == 409
    assert world.client.patch(f"/api/v1/labs/{lab}/instruments/{first.json['id']}", json={"code": "TQ-1", "name": "renamed"},
                              headers=headers).status_code == 200
    codes = sorted(i["code"] for i in world.client.get(f"/api/v1/labs/{lab}").json["instruments"])
    assert codes == ["TQ-1", "TQ-2"]
