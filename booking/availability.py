"""What is free when: one lab over a range of days, and the week view of every lab.

The week view reads all labs with a fixed number of queries (labs, hours, closures, bookings),
however many labs there are.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking import domain
from booking.models import Booking
from booking.service import get_lab, lab_hours
from labs.catalog.domain import Hours, open_intervals, subtract
from labs.catalog.models import Closure, Lab, OpeningHours
from labs.db import utcnow
from labs.errors import Invalid
from labs.i18n import N_, render
from labs.workdays import day_kind, uncovered_years

MAX_DAYS = 62


def _range(lab_tz: ZoneInfo, first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (dt.datetime.combine(first, dt.time(), lab_tz),
            dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), lab_tz))


def _check_days(first: dt.date, last: dt.date) -> None:
    if last < first:
        raise Invalid(N_("invalid range"), {"to": [N_("must not be before from")]}, code="invalid_range")
    if (last - first).days >= MAX_DAYS:
        raise Invalid(N_("range too long"), {"to": [N_("at most %(days)s days from 'from'")]}, code="range_too_long",
                      params={"days": MAX_DAYS})


def _day(lab: Lab, day: dt.date, tz: ZoneInfo, hours: list[Hours], closures: list[Closure],
         bookings: list[Booking], now: dt.datetime) -> dict:
    kind = day_kind(day)
    opened = open_intervals(day, hours, tz)
    closed = [(c.starts_at, c.ends_at) for c in closures]
    # Time that has passed is not free: nothing can be booked before the lab's next step from now.
    passed = (dt.datetime.combine(day, dt.time(), tz), domain.next_step(now, lab.slot_step_minutes, tz))
    open_now = subtract(opened, closed + [passed])
    bays = []
    for bay in range(1, lab.bays + 1):
        taken = [(b.starts_at, b.ends_at) for b in bookings if b.bay == bay]
        bays.append({"bay": bay,
                     "busy": [{"starts_at": s, "ends_at": e} for s, e in taken
                              if any(domain.overlaps(s, e, o, c) for o, c in opened)],
                     "free": [{"starts_at": s, "ends_at": e} for s, e in subtract(open_now, taken)]})
    return {
        "date": day,
        "working_day": kind.working,
        "holiday": kind.holiday_name,
        "calendar_covered": kind.covered,
        "open": [{"starts_at": s, "ends_at": e} for s, e in opened],
        "closures": [{"starts_at": c.starts_at, "ends_at": c.ends_at, "reason": c.reason} for c in closures
                     if any(domain.overlaps(c.starts_at, c.ends_at, o, e) for o, e in opened)],
        "bays": bays,
    }


def availability(session: Session, lab_id: int, first: dt.date, last: dt.date,
                 now: dt.datetime | None = None) -> dict:
    _check_days(first, last)
    now = now or utcnow()
    lab = get_lab(session, lab_id)
    tz = ZoneInfo(lab.timezone)
    hours = lab_hours(lab)
    start, end = _range(tz, first, last)
    closures = list(session.scalars(select(Closure).where(
        Closure.lab_id == lab.id, Closure.starts_at < end, Closure.ends_at > start)))
    bookings = list(session.scalars(select(Booking).where(
        Booking.lab_id == lab.id, Booking.status.in_(domain.ACTIVE),
        Booking.starts_at < end, Booking.ends_at > start, _start_bound(start))))
    days = []
    day = first
    while day <= last:
        day_start, day_end = _range(tz, day, day)
        days.append(_day(lab, day, tz, hours,
                         [c for c in closures if domain.overlaps(c.starts_at, c.ends_at, day_start, day_end)],
                         [b for b in bookings if domain.overlaps(b.starts_at, b.ends_at, day_start, day_end)], now))
        day += dt.timedelta(days=1)
    return {"lab_id": lab.id, "timezone": lab.timezone, "from": first, "to": last,
            "calendar_note": _calendar_note(first, last),
            "instruments": [{"id": i.id, "code": i.code, "name": i.name,
                             "calibration_valid_until": i.calibration_valid_until,
                             "usable_until_end": domain.calibration_covers(i.calibration_valid_until, end, tz)}
                            for i in lab.instruments],
            "days": days}


def _start_bound(start: dt.datetime):
    return Booking.starts_at > start - domain.MAX_BOOKING_LENGTH


def _calendar_note(first: dt.date, last: dt.date) -> str | None:
    years = uncovered_years(first, last)
    if not years:
        return None
    return render(N_("the national holiday calendar for %(years)s is not known yet: the statutory holidays the "
                     "law fixes and weekends are non-working days; that year's bridged days and make-up working "
                     "days are not"), {"years": ", ".join(map(str, years))})


def week_overview(session: Session, monday: dt.date, now: dt.datetime | None = None) -> dict:
    """Every lab's week: free bay-hours per day. Four queries, whatever the number of labs."""
    now = now or utcnow()
    last = monday + dt.timedelta(days=6)
    labs = list(session.scalars(select(Lab).order_by(Lab.code)))
    hours = defaultdict(list)
    for h in session.scalars(select(OpeningHours)):  # one query, not one per 500 labs as selectinload would
        hours[h.lab_id].append(Hours(h.weekday, h.opens, h.closes))
    # A generous UTC window covering every lab's local week; rows are filtered per lab below.
    window_start = dt.datetime.combine(monday, dt.time(), dt.timezone.utc) - dt.timedelta(days=1)
    window_end = dt.datetime.combine(last, dt.time(), dt.timezone.utc) + dt.timedelta(days=2)
    closures, bookings = defaultdict(list), defaultdict(list)
    for c in session.scalars(select(Closure).where(Closure.starts_at < window_end, Closure.ends_at > window_start)):
        closures[c.lab_id].append(c)
    for b in session.scalars(select(Booking).where(
            Booking.status.in_(domain.ACTIVE), Booking.starts_at < window_end,
            _start_bound(window_start), Booking.ends_at > window_start)):
        bookings[b.lab_id].append(b)
    out = []
    for lab in labs:
        tz = ZoneInfo(lab.timezone)
        days = []
        for offset in range(7):
            day = monday + dt.timedelta(days=offset)
            day_start, day_end = _range(tz, day, day)
            d = _day(lab, day, tz, hours[lab.id],
                     [c for c in closures[lab.id] if domain.overlaps(c.starts_at, c.ends_at, day_start, day_end)],
                     [b for b in bookings[lab.id] if domain.overlaps(b.starts_at, b.ends_at, day_start, day_end)], now)
            open_hours = sum((e - s).total_seconds() for s, e in subtract(
                [(o["starts_at"], o["ends_at"]) for o in d["open"]],
                [(c["starts_at"], c["ends_at"]) for c in d["closures"]])) / 3600 * lab.bays
            free_hours = sum((f["ends_at"] - f["starts_at"]).total_seconds()
                             for bay in d["bays"] for f in bay["free"]) / 3600
            days.append({"date": day, "open_bay_hours": round(open_hours, 2), "free_bay_hours": round(free_hours, 2),
                         "holiday": d["holiday"]})
        out.append({"lab_id": lab.id, "code": lab.code, "name": lab.name, "discipline": lab.discipline, "days": days})
    return {"monday": monday, "calendar_note": _calendar_note(monday, last), "labs": out}
