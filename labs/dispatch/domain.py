"""The rules of work orders, with plain values: their states, the days work may be planned on, the
span of a day's work in local time."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from labs.workdays import DayKind

STATES = ("planned", "in_progress", "done", "cancelled")
OPEN = ("planned", "in_progress")  # a work order that still holds its technicians and rigs
MAX_INSTRUMENTS = 200  # one site's instruments on one day: a large fuel depot has a few dozen nozzles
MAX_PEOPLE = 10  # technicians, and rigs, on one work order


@dataclass(frozen=True)
class Transition:
    source: tuple[str, ...]
    target: str


TRANSITIONS = {
    "start": Transition(("planned",), "in_progress"),
    "finish": Transition(("in_progress",), "done"),
    "cancel": Transition(OPEN, "cancelled"),
}


def day_problem(kind: DayKind, weekend: bool, staffed: bool) -> str | None:
    """Work is planned on working days (make-up working days included) and on weekend days the
    bureau declared staffed, never on a statutory holiday (nor its bridged days off)."""
    if kind.statutory_holiday:
        return "statutory_holiday"
    if not kind.working and not (weekend and staffed):
        return "unstaffed_weekend"
    return None


def staffable_problem(kind: DayKind, weekend: bool) -> str | None:
    """Which days may be declared staffed: weekend days off. A make-up working day is worked
    anyway, a holiday never; a weekday is a working day."""
    if kind.statutory_holiday:
        return "statutory_holiday"
    if not weekend or kind.working:
        return "not_a_weekend_day_off"
    return None


def local_span(day: dt.date, starts: dt.time, ends: dt.time, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The day's work from `starts` to `ends` wall-clock time, as aware datetimes. Ends after
    starts, on the same day (work past midnight is the next day's work order)."""
    if ends <= starts:
        raise ValueError("ends_before_starts")
    return dt.datetime.combine(day, starts, tz), dt.datetime.combine(day, ends, tz)


def week_days(monday: dt.date) -> list[dt.date]:
    return [monday + dt.timedelta(days=d) for d in range(7)]
