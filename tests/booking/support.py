"""Helpers shared by the end-to-end booking tests: bookings made through the service at a chosen
`now` (the API always uses the real clock), days that suit a test, and HTTP shortcuts."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from booking import service
from booking.service import BookingRequest
from labs.accounts.models import User
from labs.db import session_scope
from tests.conftest import booking_body, next_working_day
from tests.holidays import is_working_day

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc


def nth_working_day_after(day: dt.date, n: int) -> dt.date:
    while n:
        day += dt.timedelta(days=1)
        n -= is_working_day(day)
    return day


def working_wednesdays(weeks: int) -> dt.date:
    """A Wednesday at least a week ahead such that it and the next `weeks - 1` Wednesdays all work."""
    day = next_working_day()
    while not all(is_working_day(day + dt.timedelta(weeks=w)) for w in range(weeks)):
        day = next_working_day(day - dt.timedelta(days=6))
    return day


def past_working_day() -> dt.date:
    """A working weekday a few days back: its bookings have started, so they can be no-shows."""
    day = dt.date.today() - dt.timedelta(days=3)
    while day.weekday() >= 5 or not is_working_day(day):
        day -= dt.timedelta(days=1)
    return day


def local(day: dt.date, hour: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(int(hour), int(round(hour % 1 * 60))), SHANGHAI)


def instant(text: str) -> dt.datetime:
    """A time as the API writes it (RFC 3339), for comparing instants whatever the offset."""
    return dt.datetime.fromisoformat(text)


def book_at(app, email: str, lab_id: int, day: dt.date, start_hour: float, end_hour: float,
            now: dt.datetime, **extra) -> int:
    """Request a booking through the service as if the clock read `now`; returns its id."""
    body = booking_body(lab_id, day, start_hour, end_hour, **extra)
    body["starts_at"] = dt.datetime.fromisoformat(body["starts_at"])
    body["ends_at"] = dt.datetime.fromisoformat(body["ends_at"])
    body["instrument_ids"] = tuple(body.get("instrument_ids", ()))
    with app.app_context(), session_scope(app) as s:
        actor = s.scalar(select(User).where(User.email == email))
        return service.request_booking(s, actor, BookingRequest(**body), now=now).id


def act_at(app, email: str, booking_id: int, action: str, now: dt.datetime):
    """Take `action` on a booking through the service as if the clock read `now`."""
    with app.app_context(), session_scope(app) as s:
        actor = s.scalar(select(User).where(User.email == email))
        return service.transition(s, actor, booking_id, action, now=now).status


class ServiceClock:
    """The booking service's clock, set by the test, for calls over HTTP (which otherwise read the
    real clock): when a booking may be checked in, cancelled or called a no-show depends on it.
    `now` None reads the real clock."""

    def __init__(self, monkeypatch, now: dt.datetime | None = None):
        self.now = now
        monkeypatch.setattr(service, "utcnow", lambda: self.now or dt.datetime.now(UTC))


def act(world, headers: dict, booking_id: int, action: str, note: str = ""):
    return world.client.post(f"/api/v1/bookings/{booking_id}/{action}", json={"note": note}, headers=headers)


def notification_subjects(world, headers: dict) -> list[str]:
    r = world.client.get("/api/v1/notifications", headers=headers)
    assert r.status_code == 200, r.json
    return [n["subject"] for n in r.json]
