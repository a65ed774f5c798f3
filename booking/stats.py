"""Usage statistics per lab and month: utilisation, enterprises served, batches tested."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.models import Booking
from booking.service import lab_hours
from labs.accounts.service import Actor
from labs.audit import AuditEntry
from labs.catalog.domain import Hours, open_intervals, subtract
from labs.catalog.models import Closure, Lab
from labs.catalog.service import managed_lab
from labs.db import utcnow

# Time counts as used once the booking was approved and not given back.
USED = ("approved", "checked_in", "completed", "no_show")


def monthly_usage(session: Session, actor: Actor | None, lab_id: int, year: int, month: int) -> dict:
    _actor, lab = managed_lab(session, actor, lab_id)
    return _usage(session, lab, year, month)


def recent_usage(session: Session, actor: Actor | None, lab_id: int, months: int,
                 now: dt.datetime | None = None) -> list[dict]:
    """Usage of this month (in the lab's time zone) and the `months` - 1 before it, newest first."""
    _actor, lab = managed_lab(session, actor, lab_id)
    first = (now or utcnow()).astimezone(ZoneInfo(lab.timezone)).date().replace(day=1)
    usage = []
    for _month in range(months):
        usage.append(_usage(session, lab, first.year, first.month))
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return usage


def _hours_in_force(session: Session, lab: Lab):
    """The opening hours a lab had on each day, from its audit trail: a change counts from the day
    after it was made, so a month's open hours (and its utilisation) stay as they were when the
    hours change later. Returns a function of the local date."""
    tz = ZoneInfo(lab.timezone)
    entries = session.execute(select(AuditEntry.at, AuditEntry.before, AuditEntry.after).where(
        AuditEntry.entity == "lab", AuditEntry.entity_id == lab.id,
        AuditEntry.action.in_(("lab.create", "lab.update"))).order_by(AuditEntry.id)).all()
    changes = [(entry.at, _hours(entry.after["hours"])) for entry in entries
               if entry.after and "hours" in entry.after]
    if entries and entries[0].before and "hours" in entries[0].before:
        earliest = _hours(entries[0].before["hours"])  # as the lab was before its first recorded change
    else:
        earliest = changes[0][1] if changes else lab_hours(lab)

    def on(day: dt.date) -> list[Hours]:
        began = dt.datetime.combine(day, dt.time(), tz)
        return next((hours for at, hours in reversed(changes) if at < began), earliest)
    return on


def _hours(spans: list[dict]) -> list[Hours]:
    return [Hours(span["weekday"], dt.time.fromisoformat(span["opens"]), dt.time.fromisoformat(span["closes"]))
            for span in spans]


def _usage(session: Session, lab: Lab, year: int, month: int) -> dict:
    tz = ZoneInfo(lab.timezone)
    first = dt.date(year, month, 1)
    after = dt.date(year + month // 12, month % 12 + 1, 1)
    start, end = dt.datetime.combine(first, dt.time(), tz), dt.datetime.combine(after, dt.time(), tz)
    closures = [(closure.starts_at, closure.ends_at) for closure in session.scalars(select(Closure).where(
        Closure.lab_id == lab.id, Closure.starts_at < end, Closure.ends_at > start))]
    hours_on = _hours_in_force(session, lab)
    open_seconds = 0.0
    day = first
    while day < after:
        open_seconds += sum((closes - opens).total_seconds()
                            for opens, closes in subtract(open_intervals(day, hours_on(day), tz), closures))
        day += dt.timedelta(days=1)
    bookings = list(session.scalars(select(Booking).where(
        Booking.lab_id == lab.id, Booking.status.in_(USED), Booking.starts_at >= start, Booking.starts_at < end)))
    booked_seconds = sum((booking.ends_at - booking.starts_at).total_seconds() for booking in bookings)
    capacity = open_seconds * lab.bays
    done = [booking for booking in bookings if booking.status == "completed"]
    return {
        "lab_id": lab.id, "month": f"{year:04d}-{month:02d}",
        "open_bay_hours": round(capacity / 3600, 2),
        "booked_hours": round(booked_seconds / 3600, 2),
        "utilisation": round(booked_seconds / capacity, 4) if capacity else 0.0,
        "bookings": len(bookings),
        "no_shows": sum(1 for booking in bookings if booking.status == "no_show"),
        "enterprises_served": len({booking.enterprise_id for booking in done}),
        "batches_tested": sum(booking.batches for booking in done),
    }
