"""Booking rules as plain Python: the overlap rule, the state machine and when each action may be
taken, slot checks, duplicates and the weekly limit, fees, recurrence."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

# A booking holds its bay in these states; the database forbids two of them overlapping on a bay.
ACTIVE = ("requested", "approved", "checked_in")
STATES = ACTIVE + ("rejected", "cancelled", "completed", "no_show", "lapsed")

STAFF = ("admin", "lab_manager")

# A booking lies within one opening day, so none is longer than this. Range queries use it as a
# lower bound on starts_at, which lets the (lab_id, starts_at) index bound the scan on both sides.
MAX_BOOKING_LENGTH = dt.timedelta(hours=24)

# A booking is checked in from this long before its start (the enterprise arrives, samples are
# received) until its end.
CHECK_IN_OPENS_BEFORE = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class Transition:
    source: tuple[str, ...]
    target: str
    roles: tuple[str, ...]  # "owner" means a member of the booking's enterprise


TRANSITIONS: dict[str, Transition] = {
    "approve": Transition(("requested",), "approved", STAFF),
    "reject": Transition(("requested",), "rejected", STAFF),
    "cancel": Transition(("requested", "approved"), "cancelled", STAFF + ("owner",)),
    "check_in": Transition(("approved",), "checked_in", STAFF + ("technician",)),
    "complete": Transition(("checked_in",), "completed", STAFF + ("technician",)),
    "no_show": Transition(("approved",), "no_show", STAFF + ("technician",)),
    # Only the scheduler lapses a booking, when committed documents do not arrive in time.
    "lapse": Transition(("requested", "approved"), "lapsed", ()),
}


def timing_problem(action: str, by_enterprise: bool, now: dt.datetime, start: dt.datetime,
                   end: dt.datetime) -> str | None:
    """Why `action` may not be taken at `now` on a booking of [start, end), or None if it may.
    `by_enterprise`: the booking's own enterprise acts, not the lab's staff."""
    if action == "check_in" and now < start - CHECK_IN_OPENS_BEFORE:
        return (f"a booking can be checked in from {_minutes(CHECK_IN_OPENS_BEFORE)} minutes before it starts, "
                "not earlier")
    if action == "check_in" and now >= end:
        return "a booking cannot be checked in after it has ended"
    if action == "no_show" and now < start:
        return "a booking cannot be a no-show before it starts"
    if action == "cancel" and by_enterprise and now >= start:
        # Once the slot has begun, the bay was held for nothing: that is a no-show, which staff record.
        return "a booking that has started cannot be cancelled by the enterprise; the lab records a no-show"
    return None


def overlaps(a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime, b_end: dt.datetime) -> bool:
    """Half-open [start, end): back-to-back slots do not overlap."""
    return a_start < b_end and b_start < a_end


@dataclass(frozen=True)
class SlotRules:
    min_duration: dt.timedelta
    max_duration: dt.timedelta
    max_advance: dt.timedelta


def slot_problems(rules: SlotRules, now: dt.datetime, start: dt.datetime, end: dt.datetime) -> list[str]:
    """What is wrong with a requested slot on its own (opening hours and closures are checked apart)."""
    if end <= start:
        return ["the end must be after the start"]
    problems = []
    if start < now:
        problems.append("the slot starts in the past")
    if end - start < rules.min_duration:
        problems.append(f"shorter than the lab's minimum of {_minutes(rules.min_duration)} minutes")
    if end - start > rules.max_duration:
        problems.append(f"longer than the lab's maximum of {_minutes(rules.max_duration)} minutes")
    if start - now > rules.max_advance:
        problems.append(f"more than {rules.max_advance.days} days ahead")
    return problems


def last_local_day(end: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The last day a slot ending at `end` touches, on the lab's calendar: the end is exclusive, so
    a slot ending at local midnight lies wholly on the day before."""
    return (end - dt.timedelta(microseconds=1)).astimezone(tz).date()


def calibration_covers(valid_until: dt.date, end: dt.datetime, tz: ZoneInfo) -> bool:
    """Whether a certificate valid until `valid_until` (a day in the lab's time zone, inclusive)
    still holds on the last day of a slot or range ending at `end`."""
    return valid_until >= last_local_day(end, tz)


def duplicate_of(held: list[tuple[int, dt.datetime, dt.datetime]], start: dt.datetime,
                 end: dt.datetime) -> int | None:
    """The booking among `held` (id, start, end: an enterprise's active bookings in one lab) that the
    same request for [start, end) would repeat, or None."""
    return next((booking_id for booking_id, b_start, b_end in held if b_start == start and b_end == end), None)


def local_week(moment: dt.datetime, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The week holding `moment` on the lab's calendar: from Monday 00:00 to the next Monday 00:00, local."""
    day = moment.astimezone(tz).date()
    monday = day - dt.timedelta(days=day.weekday())
    return dt.datetime.combine(monday, dt.time(), tz), dt.datetime.combine(monday + dt.timedelta(weeks=1), dt.time(), tz)


def time_within(spans: list[tuple[dt.datetime, dt.datetime]], start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """How much of the half-open `spans` lies inside [start, end)."""
    total = dt.timedelta()
    for s_start, s_end in spans:
        total += max(dt.timedelta(), min(s_end, end) - max(s_start, start))
    return total


def weekly_hours_problem(limit_hours: int | None, held: list[tuple[dt.datetime, dt.datetime]],
                         start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> str | None:
    """Why booking [start, end) would take an enterprise past the lab's limit of booked hours per
    week (counted in the lab's local week of the start), given the spans it `held` already; None if
    there is no limit or the booking fits."""
    if limit_hours is None:
        return None
    week_start, week_end = local_week(start, tz)
    booked = time_within(held, week_start, week_end)
    wanted = time_within([(start, end)], week_start, week_end)
    if booked + wanted <= dt.timedelta(hours=limit_hours):
        return None
    return (f"the lab allows {limit_hours} booked hours per enterprise a week; your enterprise has "
            f"{_hours(booked)} hours booked in the week of {week_start.date().isoformat()} and this booking "
            f"would add {_hours(wanted)}")


def _hours(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.2f}".rstrip("0").rstrip(".")


def _minutes(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 60)


def fee(public_benefit: bool, per_hour: Decimal, per_batch: Decimal,
        start: dt.datetime, end: dt.datetime, batches: int) -> Decimal:
    """The schedule's fee: hours (pro rata) and test batches; public-benefit labs charge nothing."""
    if public_benefit:
        return Decimal("0.00")
    hours = Decimal((end - start).total_seconds()) / Decimal(3600)
    return (per_hour * hours + per_batch * batches).quantize(Decimal("0.01"), ROUND_HALF_UP)


def weekly_occurrences(start: dt.datetime, end: dt.datetime, weeks: int, tz: ZoneInfo) -> list[tuple[dt.datetime, dt.datetime]]:
    """The same local wall-clock slot on `weeks` consecutive weeks, as UTC-aware datetimes."""
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    naive_start, naive_end = local_start.replace(tzinfo=None), local_end.replace(tzinfo=None)
    out = []
    for week in range(weeks):
        shift = dt.timedelta(weeks=week)
        out.append(((naive_start + shift).replace(tzinfo=tz).astimezone(dt.timezone.utc),
                    (naive_end + shift).replace(tzinfo=tz).astimezone(dt.timezone.utc)))
    return out
