"""Working days after the national holiday calendar, including weekend make-up working days (调休).

chinese-calendar knows the years the State Council has published. For a year it does not cover we
fall back to Monday-Friday and say so (`covered` is False), rather than fail.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import chinese_calendar


@dataclass(frozen=True)
class DayKind:
    working: bool
    holiday_name: str | None  # a statutory holiday, or the holiday a make-up working day belongs to
    covered: bool  # False when the calendar does not know this year

    @property
    def makeup_working(self) -> bool:
        return self.working and self.holiday_name is not None

    @property
    def statutory_holiday(self) -> bool:
        return not self.working and self.holiday_name is not None


def day_kind(day: dt.date) -> DayKind:
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return DayKind(working=day.weekday() < 5, holiday_name=None, covered=False)
    return DayKind(working=not on_holiday, holiday_name=name, covered=True)


def add_working_days(start: dt.date, n: int) -> dt.date:
    """The n-th working day after `start` (start itself does not count)."""
    day = start
    while n > 0:
        day += dt.timedelta(days=1)
        if day_kind(day).working:
            n -= 1
    return day


def uncovered_years(start: dt.date, end: dt.date) -> list[int]:
    return [y for y in range(start.year, end.year + 1) if not day_kind(dt.date(y, 6, 1)).covered]
