"""Weekly recurring bookings and the waitlist, through the HTTP API on both backends."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from booking.models import WaitlistEntry
from labs.db import session_scope
from tests.booking.support import instant, local, notification_subjects, working_wednesdays
from tests.conftest import booking_body

WEEKS = 4


def _series_scene(world):
    """A one-bay lab where another enterprise holds week 3 and the lab is closed in week 2."""
    admin_id, admin = world.user("admin")
    _, alice = world.user("enterprise", enterprise=0)
    _, bob = world.user("enterprise", enterprise=1)
    lab = world.lab()
    day = working_wednesdays(WEEKS)
    week2, week3 = day + dt.timedelta(weeks=1), day + dt.timedelta(weeks=2)
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, week3, 10, 12), headers=world.token(bob))
    assert r.status_code == 201, r.json
    r = world.client.post(f"/api/v1/labs/{lab}/closures", headers=world.token(admin), json={
        "starts_at": local(week2, 8).isoformat(), "ends_at": local(week2, 12).isoformat(),
        "reason": "spindle replacement"})
    assert r.status_code == 201, r.json
    return lab, day, world.token(alice)


def _series(lab, day, policy, dry_run=False):
    return booking_body(lab, day, 9, 11, weeks=WEEKS, policy=policy, dry_run=dry_run)


def _my_bookings(world, headers):
    r = world.client.get("/api/v1/bookings", headers=headers)
    assert r.status_code == 200, r.json
    return r.json


def test_all_or_nothing_series_with_a_conflict_is_refused_with_409_and_books_nothing(world):
    lab, day, alice = _series_scene(world)
    r = world.client.post("/api/v1/booking-series", json=_series(lab, day, "all_or_nothing"), headers=alice)
    assert r.status_code == 409, r.json
    assert r.mimetype == "application/problem+json"
    problems = [o["problem"] for o in r.json["occurrences"]]
    assert [instant(o["starts_at"]) for o in r.json["occurrences"]] == [
        local(day + dt.timedelta(weeks=w), 9) for w in range(WEEKS)]
    assert problems[0] is None and problems[3] is None
    assert "spindle replacement" in problems[1]
    assert problems[2] == "conflicts with another booking"
    assert _my_bookings(world, alice) == []


def test_dry_run_reports_each_occurrence_and_books_nothing(world):
    lab, day, alice = _series_scene(world)
    for policy in ("all_or_nothing", "skip_conflicts"):
        r = world.client.post("/api/v1/booking-series", json=_series(lab, day, policy, dry_run=True), headers=alice)
        assert r.status_code == 200, r.json  # nothing was created
        assert r.json["dry_run"] is True and r.json["series_id"] is None
        occurrences = r.json["occurrences"]
        assert [o["problem"] is None for o in occurrences] == [True, False, False, True]
        assert all(o["booking_id"] is None for o in occurrences)
    assert _my_bookings(world, alice) == []


def test_skip_conflicts_books_the_free_weeks_and_reports_the_skipped_ones(world):
    lab, day, alice = _series_scene(world)
    r = world.client.post("/api/v1/booking-series", json=_series(lab, day, "skip_conflicts"), headers=alice)
    assert r.status_code == 201, r.json
    occurrences = r.json["occurrences"]
    assert [o["problem"] is None for o in occurrences] == [True, False, False, True]
    assert occurrences[1]["booking_id"] is None and occurrences[2]["booking_id"] is None
    booked = {o["booking_id"] for o in occurrences if o["booking_id"] is not None}
    mine = _my_bookings(world, alice)
    assert {b["id"] for b in mine} == booked and len(booked) == 2
    assert {b["series_id"] for b in mine} == {r.json["series_id"]}
    assert sorted(instant(b["starts_at"]) for b in mine) == [local(day, 9), local(day + dt.timedelta(weeks=3), 9)]


def test_series_keeps_the_local_wall_clock_time_every_week(world):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab(bays=1)
    day = working_wednesdays(3)
    r = world.client.post("/api/v1/booking-series", headers=world.token(alice),
                          json=booking_body(lab, day, 14, 16, weeks=3, policy="all_or_nothing"))
    assert r.status_code == 201, r.json
    starts = [instant(o["starts_at"]) for o in r.json["occurrences"]]
    assert starts == [local(day + dt.timedelta(weeks=w), 14) for w in range(3)]
    assert all(o["booking_id"] for o in r.json["occurrences"])


# --- waitlist --------------------------------------------------------------------------------------

def test_joining_the_waitlist_for_a_free_slot_is_refused_with_409(world):
    _, alice = world.user("enterprise", enterprise=0)
    lab = world.lab()
    day = working_wednesdays(1)
    r = world.client.post("/api/v1/waitlist", json=booking_body(lab, day), headers=world.token(alice))
    assert r.status_code == 409, r.json
    assert "free" in r.json["detail"]


def test_cancelled_slot_goes_to_the_first_waiter_who_is_notified_and_the_second_keeps_waiting(world, app):
    manager_id, manager = world.user("lab_manager")
    _, holder = world.user("enterprise", enterprise=0)
    _, first = world.user("enterprise", enterprise=1)
    _, second = world.user("enterprise", enterprise=2)
    lab = world.lab(manager_ids=[manager_id])
    day = working_wednesdays(1)
    holder_h, first_h, second_h = world.token(holder), world.token(first), world.token(second)
    r = world.client.post("/api/v1/bookings", json=booking_body(lab, day), headers=holder_h)
    assert r.status_code == 201, r.json
    held = r.json["id"]
    assert world.client.post(f"/api/v1/bookings/{held}/approve", json={},
                             headers=world.token(manager)).status_code == 200
    waits = []
    for headers in (first_h, second_h):
        r = world.client.post("/api/v1/waitlist", json=booking_body(lab, day), headers=headers)
        assert r.status_code == 201, r.json
        assert r.json["status"] == "waiting" and r.json["booking_id"] is None
        waits.append(r.json["id"])
    assert not any("Waitlist" in s for s in notification_subjects(world, first_h))

    r = world.client.post(f"/api/v1/bookings/{held}/cancel", json={}, headers=holder_h)
    assert r.status_code == 200 and r.json["status"] == "cancelled"

    got = world.client.get("/api/v1/bookings", headers=first_h).json
    assert len(got) == 1
    assert instant(got[0]["starts_at"]) == local(day, 9) and got[0]["status"] in ("requested", "approved")
    assert any(s.startswith("候补成功：") for s in notification_subjects(world, first_h))
    assert world.client.get("/api/v1/bookings", headers=second_h).json == []
    assert not any("Waitlist" in s for s in notification_subjects(world, second_h))
    with app.app_context(), session_scope(app) as s:
        entries = {e.id: (e.status, e.booking_id) for e in s.scalars(select(WaitlistEntry))}
    assert entries == {waits[0]: ("promoted", got[0]["id"]), waits[1]: ("waiting", None)}


def test_a_waiter_sees_its_places_leaves_one_and_a_freed_slot_skips_it(world):
    _, holder = world.user("enterprise", enterprise=0)
    _, waiter = world.user("enterprise", enterprise=1)
    lab = world.lab()
    day = working_wednesdays(1)
    holder_h, waiter_h = world.token(holder), world.token(waiter)
    held = world.client.post("/api/v1/bookings", json=booking_body(lab, day), headers=holder_h).json["id"]
    entry = world.client.post("/api/v1/waitlist", json=booking_body(lab, day), headers=waiter_h).json["id"]
    again = world.client.post("/api/v1/waitlist", json=booking_body(lab, day), headers=waiter_h)
    assert again.status_code == 409 and "already waiting" in again.json["detail"]
    assert [(e["id"], e["status"]) for e in world.client.get("/api/v1/waitlist", headers=waiter_h).json] == \
        [(entry, "waiting")]
    assert world.client.delete(f"/api/v1/waitlist/{entry}", headers=holder_h).status_code == 404
    r = world.client.delete(f"/api/v1/waitlist/{entry}", headers=waiter_h)
    assert r.status_code == 200 and r.json["status"] == "withdrawn"
    assert world.client.delete(f"/api/v1/waitlist/{entry}", headers=waiter_h).status_code == 409
    assert world.client.post(f"/api/v1/bookings/{held}/cancel", json={}, headers=holder_h).status_code == 200
    assert world.client.get("/api/v1/bookings", headers=waiter_h).json == []  # withdrawn: not promoted
