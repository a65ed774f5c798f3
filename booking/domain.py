"""Booking rules as plain Python: the overlap rule, the state machine and when each action may be
taken, slot checks, duplicates and the weekly limit, fees, recurrence."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from labs.i18n import N_, Message

# A booking holds its bay in these states; the database forbids two of them overlapping on a bay.
ACTIVE = ("requested", "approved", "checked_in")
STATES = ACTIVE + ("rejected", "cancelled", "completed", "no_show", "lapsed")

STAFF = ("admin", "lab_manager")

# How people read the states and actions (templates and messages alike).
STATUS_NAMES = {
    "requested": N_("requested"), "approved": N_("approved"), "checked_in": N_("checked in"),
    "rejected": N_("rejected"), "cancelled": N_("cancelled"), "completed": N_("completed"),
    "no_show": N_("no-show"), "lapsed": N_("lapsed"),
}
ACTION_NAMES = {
    "approve": N_("approve"), "reject": N_("reject"), "cancel": N_("cancel"), "check_in": N_("check in"),
    "complete": N_("complete"), "no_show": N_("record as a no-show"), "lapse": N_("lapse"),
}

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
                   end: dt.datetime) -> Message | None:
    """Why `action` may not be taken at `now` on a booking of [start, end), or None if it may.
    `by_enterprise`: the booking's own enterprise acts, not the lab's staff."""
    if action == "check_in" and now < start - CHECK_IN_OPENS_BEFORE:
        return N_("a booking can be checked in from %(minutes)s minutes before it starts, not earlier") % {
            "minutes": _minutes(CHECK_IN_OPENS_BEFORE)}
    if action == "check_in" and now >= end:
        return N_("a booking cannot be checked in after it has ended")
    if action == "no_show" and now < start:
        return N_("a booking cannot be a no-show before it starts")
    if action == "cancel" and by_enterprise and now >= start:
        # Once the slot has begun, the bay was held for nothing: that is a no-show, which staff record.
        return N_("a booking that has started cannot be cancelled by the enterprise; the lab records a no-show")
    return None


def overlaps(a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime, b_end: dt.datetime) -> bool:
    """Half-open [start, end): back-to-back slots do not overlap."""
    return a_start < b_end and b_start < a_end


@dataclass(frozen=True)
class SlotRules:
    min_duration: dt.timedelta
    max_duration: dt.timedelta
    max_advance: dt.timedelta


END_BEFORE_START = N_("the end must be after the start")
IN_THE_PAST = N_("the slot starts in the past")
TOO_SHORT = N_("shorter than the lab's minimum of %(minutes)s minutes")
TOO_LONG = N_("longer than the lab's maximum of %(minutes)s minutes")
TOO_FAR_AHEAD = N_("more than %(days)s days ahead")
# The stable code of each problem, for programs.
SLOT_CODES = {END_BEFORE_START: "end_before_start", IN_THE_PAST: "slot_in_the_past", TOO_SHORT: "slot_too_short",
              TOO_LONG: "slot_too_long", TOO_FAR_AHEAD: "slot_too_far_ahead"}


def slot_problems(rules: SlotRules, now: dt.datetime, start: dt.datetime, end: dt.datetime) -> list[Message]:
    """What is wrong with a requested slot on its own (opening hours and closures are checked apart)."""
    if end <= start:
        return [END_BEFORE_START]
    problems = []
    if start < now:
        problems.append(IN_THE_PAST)
    if end - start < rules.min_duration:
        problems.append(TOO_SHORT % {"minutes": _minutes(rules.min_duration)})
    if end - start > rules.max_duration:
        problems.append(TOO_LONG % {"minutes": _minutes(rules.max_duration)})
    if start - now > rules.max_advance:
        problems.append(TOO_FAR_AHEAD % {"days": rules.max_advance.days})
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
                         start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> Message | None:
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
    return N_("the lab allows %(limit)s booked hours per enterprise a week; your enterprise has %(booked)s "
              "hours booked in the week of %(monday)s and this booking would add %(wanted)s") % {
        "limit": limit_hours, "booked": _hours(booked), "monday": week_start.date(), "wanted": _hours(wanted)}


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


def off_step(start: dt.datetime, end: dt.datetime, step_minutes: int, tz: ZoneInfo) -> bool:
    """Whether a slot starts or ends off the lab's step of local time (minutes from midnight)."""
    return any((moment.astimezone(tz).hour * 60 + moment.astimezone(tz).minute) % step_minutes
               or moment.second or moment.microsecond for moment in (start, end))


def documents_due(deadline: dt.date, start: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The last day to deliver documents committed to (容缺受理): the lab's deadline in working days,
    but no later than the day the slot starts (on that day, before its start)."""
    return min(deadline, start.astimezone(tz).date())


def documents_overdue(due: dt.date, start: dt.datetime, now: dt.datetime, tz: ZoneInfo) -> bool:
    """Committed documents not received are overdue after their last day, or once the slot starts."""
    return now.astimezone(tz).date() > due or now >= start


def next_step(now: dt.datetime, step_minutes: int, tz: ZoneInfo) -> dt.datetime:
    """The first moment on the lab's step of local time at or after `now`: the earliest a booking
    made now can start."""
    local_now = now.astimezone(tz)
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    step = dt.timedelta(minutes=step_minutes)
    steps = -((midnight - local_now) // step)  # ceiling division
    return (midnight + steps * step).astimezone(dt.timezone.utc)
