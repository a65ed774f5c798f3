"""Rules the data needs: technicians see only the labs they work in, a lab's weekly limit of hours
per enterprise, and the same request twice refused as a duplicate. (When a booking may be checked
in, cancelled or called a no-show is in test_approval_states.py, with the state machine.)"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from booking import domain
from tests.booking.support import UTC, instant, working_wednesdays
from tests.conftest import booking_body
from tests.web.conftest import csrf_token, signed_in

SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- plain rules -----------------------------------------------------------------------------------

def test_the_local_week_runs_from_monday_midnight_in_the_lab_time_zone():
    # Monday 2030-01-07 00:30 in Shanghai is still Sunday in UTC: it belongs to the week of the 7th.
    monday_early = dt.datetime(2030, 1, 6, 16, 30, tzinfo=UTC)
    start, end = domain.local_week(monday_early, SHANGHAI)
    assert (start, end) == (dt.datetime(2030, 1, 7, tzinfo=SHANGHAI), dt.datetime(2030, 1, 14, tzinfo=SHANGHAI))
    sunday_late = dt.datetime(2030, 1, 6, 15, 59, tzinfo=UTC)  # 23:59 on Sunday the 6th
    assert domain.local_week(sunday_late, SHANGHAI)[0] == dt.datetime(2029, 12, 31, tzinfo=SHANGHAI)


def _at(day: int, hour: float) -> dt.datetime:
    return dt.datetime(2030, 1, day, int(hour), int(hour % 1 * 60), tzinfo=SHANGHAI)


@pytest.mark.parametrize("held, new, limit, refused", [
    ([], (_at(9, 9), _at(9, 17)), None, False),                   # no limit
    ([], (_at(9, 9), _at(9, 13)), 4, False),                      # exactly the limit
    ([], (_at(9, 9), _at(9, 13)), 3, True),
    ([(_at(7, 9), _at(7, 11))], (_at(9, 9), _at(9, 11)), 4, False),   # 2 + 2 of 4
    ([(_at(7, 9), _at(7, 11))], (_at(9, 9), _at(9, 11.5)), 4, True),  # 2 + 2.5 of 4
    ([(_at(6, 9), _at(6, 12))], (_at(9, 9), _at(9, 11)), 4, False),   # Sunday the 6th: the week before
    ([(_at(14, 9), _at(14, 12))], (_at(13, 9), _at(13, 11)), 4, False),  # Monday the 14th: the week after
])
def test_the_weekly_limit_counts_hours_held_in_the_same_local_week(held, new, limit, refused):
    problem = domain.weekly_hours_problem(limit, held, *new, SHANGHAI)
    assert (problem is not None) == refused, problem


def test_the_weekly_limit_message_names_the_limit_and_what_is_booked():
    problem = domain.weekly_hours_problem(4, [(_at(7, 9), _at(7, 12))], _at(9, 9), _at(9, 10.5), SHANGHAI)
    assert problem == ("the lab allows 4 booked hours per enterprise a week; your enterprise has 3 hours booked "
                       "in the week of Jan 7, 2030 and this booking would add 1.5")


def test_a_duplicate_is_the_same_slot_exactly():
    held = [(1, _at(9, 9), _at(9, 11)), (2, _at(9, 13), _at(9, 14))]
    assert domain.duplicate_of(held, _at(9, 13), _at(9, 14)) == 2
    assert domain.duplicate_of(held, _at(9, 9).astimezone(UTC), _at(9, 11).astimezone(UTC)) == 1  # same instants
    assert domain.duplicate_of(held, _at(9, 9), _at(9, 10)) is None
    assert domain.duplicate_of(held, _at(16, 9), _at(16, 11)) is None


# --- technicians -------------------------------------------------------------------------------------

class Labs:
    """Two labs with a technician each, and a booking of enterprise A in each."""

    def __init__(self, world):
        self.world = world
        manager_id, manager = world.user("lab_manager")
        self.manager = world.token(manager)
        self.tech_a_id, tech_a = world.user("technician")
        self.tech_b_id, tech_b = world.user("technician")
        self.tech_a, self.tech_b = world.token(tech_a), world.token(tech_b)
        self.tech_a_email = tech_a
        _, owner = world.user("enterprise", enterprise=0)
        self.owner = world.token(owner)
        self.lab_a = world.lab(manager_ids=[manager_id], approval_mode="instant")
        self.lab_b = world.lab(manager_ids=[manager_id], approval_mode="instant")
        for lab, tech in ((self.lab_a, self.tech_a_id), (self.lab_b, self.tech_b_id)):
            r = world.client.patch(f"/api/v1/labs/{lab}", json={"technician_ids": [tech]}, headers=self.manager)
            assert r.status_code == 200, r.json
        day = working_wednesdays(1)
        self.booking_a, self.booking_b = (
            world.client.post("/api/v1/bookings", json=booking_body(lab, day), headers=self.owner).json["id"]
            for lab in (self.lab_a, self.lab_b))


def test_a_technician_sees_only_the_bookings_of_the_labs_they_work_in(world):
    labs, client = Labs(world), world.client
    listed = client.get("/api/v1/bookings", headers=labs.tech_a).json
    assert [b["id"] for b in listed] == [labs.booking_a]
    assert client.get(f"/api/v1/bookings?lab_id={labs.lab_b}", headers=labs.tech_a).json == []
    assert client.get(f"/api/v1/bookings/{labs.booking_a}", headers=labs.tech_a).json["contact_phone"]
    other = client.get(f"/api/v1/bookings/{labs.booking_b}", headers=labs.tech_a)
    assert other.status_code == 404 and "13800000000" not in other.get_data(as_text=True)
    for action in ("check_in", "complete", "no_show"):
        assert client.post(f"/api/v1/bookings/{labs.booking_b}/{action}", json={},
                           headers=labs.tech_a).status_code == 404
    # A technician of no lab sees nothing.
    _, idle = world.user("technician")
    assert client.get("/api/v1/bookings", headers=world.token(idle)).json == []


def test_lab_managers_set_the_technicians_and_only_technicians(world):
    labs, client = Labs(world), world.client
    r = client.patch(f"/api/v1/labs/{labs.lab_a}", json={"technician_ids": [labs.tech_a_id, labs.tech_b_id]},
                     headers=labs.manager)
    assert r.status_code == 200, r.json
    assert {b["id"] for b in client.get("/api/v1/bookings", headers=labs.tech_b).json} == {
        labs.booking_a, labs.booking_b}
    manager_id, _ = world.user("lab_manager")
    r = client.patch(f"/api/v1/labs/{labs.lab_a}", json={"technician_ids": [manager_id]}, headers=labs.manager)
    assert r.status_code == 422 and "technician_ids" in r.json["errors"], r.json
    _, stranger = world.user("lab_manager")  # manages no lab
    r = client.patch(f"/api/v1/labs/{labs.lab_a}", json={"technician_ids": []}, headers=world.token(stranger))
    assert r.status_code == 403
    r = client.patch(f"/api/v1/labs/{labs.lab_a}", json={"technician_ids": []}, headers=labs.manager)
    assert r.status_code == 200
    assert client.get("/api/v1/bookings", headers=labs.tech_a).json == []


def test_the_manage_page_sets_the_technicians(app, world):
    manager_id, manager = world.user("lab_manager")
    tech_id, _ = world.user("technician")
    lab = world.lab(manager_ids=[manager_id])
    browser = signed_in(app, manager)
    page = browser.get(f"/labs/{lab}/manage").get_data(as_text=True)
    assert f'name="technician_ids" value="{tech_id}" >' in page  # listed, not ticked
    r = browser.post(f"/labs/{lab}/manage/technicians",
                     data={"technician_ids": [str(tech_id)], "csrf_token": csrf_token(browser, f"/labs/{lab}/manage")})
    assert r.status_code in (302, 303)
    page = browser.get(f"/labs/{lab}/manage").get_data(as_text=True)
    assert f'name="technician_ids" value="{tech_id}" checked>' in page
    r = browser.post(f"/labs/{lab}/manage/technicians", data={"csrf_token": csrf_token(browser, f"/labs/{lab}/manage")})
    assert r.status_code in (302, 303)
    assert f'value="{tech_id}" checked' not in browser.get(f"/labs/{lab}/manage").get_data(as_text=True)


# --- the weekly limit ----------------------------------------------------------------------------------

def test_a_booking_past_the_lab_weekly_limit_is_refused_with_409_naming_the_limit(world):
    manager_id, manager = world.user("lab_manager")
    _, alice = world.user("enterprise", enterprise=0)
    _, bob = world.user("enterprise", enterprise=1)
    lab = world.lab(manager_ids=[manager_id], bays=2, approval_mode="instant")
    r = world.client.patch(f"/api/v1/labs/{lab}", json={"max_weekly_hours_per_enterprise": 4},
                           headers=world.token(manager))
    assert r.status_code == 200 and r.json["max_weekly_hours_per_enterprise"] == 4, r.json
    wednesday = working_wednesdays(2)
    thursday = wednesday + dt.timedelta(days=1)
    alice_h = world.token(alice)
    first = world.client.post("/api/v1/bookings", json=booking_body(lab, wednesday, 9, 12), headers=alice_h)
    assert first.status_code == 201, first.json
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, thursday, 9, 11), headers=alice_h)
    assert r.status_code == 409, r.json
    assert r.json["code"] == "weekly_hours_limit"
    assert "allows 4 booked hours" in r.json["detail"] and "has 3 hours booked" in r.json["detail"]
    # One more hour fits; another enterprise and the next week have hours of their own.
    assert world.client.post("/api/v1/bookings", json=booking_body(lab, thursday, 9, 10),
                             headers=alice_h).status_code == 201
    assert world.client.post("/api/v1/bookings", json=booking_body(lab, thursday, 9, 11),
                             headers=world.token(bob)).status_code == 201
    next_week = wednesday + dt.timedelta(weeks=1)
    assert world.client.post("/api/v1/bookings", json=booking_body(lab, next_week, 9, 12),
                             headers=alice_h).status_code == 201
    # A cancelled booking gives its hours back.
    assert world.client.post(f"/api/v1/bookings/{first.json['id']}/cancel", json={},
                             headers=alice_h).status_code == 200
    assert world.client.post("/api/v1/bookings", json=booking_body(lab, thursday, 13, 16),
                             headers=alice_h).status_code == 201


def test_the_manage_page_sets_and_clears_the_weekly_limit(app, world):
    manager_id, manager = world.user("lab_manager")
    lab = world.lab(manager_ids=[manager_id])
    browser = signed_in(app, manager)
    url = f"/labs/{lab}/manage/settings"
    r = browser.post(url, data={"name": "Bearing lab", "max_weekly_hours_per_enterprise": "10",
                                "csrf_token": csrf_token(browser, f"/labs/{lab}/manage")})
    assert r.status_code in (302, 303)
    assert world.client.get(f"/api/v1/labs/{lab}").json["max_weekly_hours_per_enterprise"] == 10
    r = browser.post(url, data={"name": "Bearing lab", "max_weekly_hours_per_enterprise": "0",
                                "csrf_token": csrf_token(browser, f"/labs/{lab}/manage")})
    assert r.status_code == 422
    r = browser.post(url, data={"name": "Bearing lab", "max_weekly_hours_per_enterprise": "",
                                "csrf_token": csrf_token(browser, f"/labs/{lab}/manage")})
    assert r.status_code in (302, 303)
    assert world.client.get(f"/api/v1/labs/{lab}").json["max_weekly_hours_per_enterprise"] is None


# --- duplicates ------------------------------------------------------------------------------------------

def test_the_same_request_twice_is_refused_as_a_duplicate_with_409(world):
    _, alice = world.user("enterprise", enterprise=0)
    _, bob = world.user("enterprise", enterprise=1)
    lab = world.lab(bays=3)
    body, alice_h = booking_body(lab, working_wednesdays(1)), world.token(alice)
    first = world.client.post("/api/v1/bookings", json=body, headers=alice_h)
    assert first.status_code == 201, first.json
    again = world.client.post("/api/v1/bookings", json=body, headers=alice_h)
    assert again.status_code == 409, again.json
    assert again.json["code"] == "duplicate_booking" and f"#{first.json['id']}" in again.json["detail"]
    assert [instant(c["starts_at"]) for c in again.json["conflicts"]] == [instant(body["starts_at"])]
    assert world.client.post("/api/v1/bookings", json=body, headers=world.token(bob)).status_code == 201
    # Once cancelled, the slot may be asked for again.
    assert world.client.post(f"/api/v1/bookings/{first.json['id']}/cancel", json={}, headers=alice_h).status_code == 200
    assert world.client.post("/api/v1/bookings", json=body, headers=alice_h).status_code == 201


@pytest.mark.parametrize("policy", ["all_or_nothing", "skip_conflicts"])
def test_the_same_series_twice_is_refused_as_a_duplicate_with_409(world, policy):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(bays=3)
    body = {**booking_body(lab, working_wednesdays(3)), "weeks": 3, "policy": policy}
    alice_h = world.token(alice)
    first = world.client.post("/api/v1/booking-series", json=body, headers=alice_h)
    assert first.status_code == 201 and all(o["booking_id"] for o in first.json["occurrences"]), first.json
    again = world.client.post("/api/v1/booking-series", json=body, headers=alice_h)
    assert again.status_code == 409, again.json
    assert "duplicate" in again.json["detail"]
    assert len(world.client.get("/api/v1/bookings", headers=alice_h).json) == 3


def test_a_series_skips_the_weeks_the_enterprise_already_holds(world):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(bays=3)
    day, alice_h = working_wednesdays(3), world.token(alice)
    single = world.client.post("/api/v1/bookings", json=booking_body(lab, day + dt.timedelta(weeks=1)),
                               headers=alice_h)
    assert single.status_code == 201
    body = {**booking_body(lab, day), "weeks": 3, "policy": "skip_conflicts"}
    r = world.client.post("/api/v1/booking-series", json=body, headers=alice_h)
    assert r.status_code == 201, r.json
    problems = [o["problem"] for o in r.json["occurrences"]]
    assert problems[0] is None and problems[2] is None
    assert "duplicate" in problems[1] and f"#{single.json['id']}" in problems[1]
    r = world.client.post("/api/v1/booking-series", json={**body, "policy": "all_or_nothing"}, headers=alice_h)
    assert r.status_code == 409


def test_the_booking_form_sent_twice_answers_409_naming_the_duplicate(app, world):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(bays=2)
    browser = signed_in(app, alice)
    form = {"lab_id": str(lab), "date": working_wednesdays(1).isoformat(), "start": "09:00", "end": "11:00",
            "test_type": "life test", "sample_description": "bearings", "batches": "1", "contact_name": "Zhang",
            "contact_phone": "13800000000"}
    assert browser.post("/bookings/new", data={**form, "csrf_token": csrf_token(browser, "/bookings/new")}
                        ).status_code in (302, 303)
    r = browser.post("/bookings/new", data={**form, "csrf_token": csrf_token(browser, "/bookings/new")})
    assert r.status_code == 409
    assert "重复预约" in r.get_data(as_text=True)  # the page's language
