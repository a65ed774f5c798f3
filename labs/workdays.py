"""Working days after the national holiday calendar, including weekend make-up working days (调休).

chinese-calendar knows the years the State Council has published. For a year it does not cover we
fall back, and say so (`covered` is False), rather than fail: the days off that the law itself fixes
(全国年节及纪念日放假办法, as amended in 2024: New Year's Day, New Year's Eve and the first three
days of the lunar year, Qingming, 1-2 May, the Dragon Boat and Mid-Autumn festivals, 1-3 October)
and weekends are off; the make-up working days and bridged days of that year's schedule are unknown.

A schedule an admin entered for a year (labs.calendar) overrides both for that year: labs.calendar
installs the source of stored schedules with `use_stored_schedules`.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Callable, Mapping

import chinese_calendar
from lunardate import LunarDate


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


# year -> {day: (working, holiday)} of the schedule stored for that year, or None.
StoredSchedules = Callable[[int], "Mapping[dt.date, tuple[bool, str]] | None"]
_stored_schedule: StoredSchedules = lambda year: None


def use_stored_schedules(source: StoredSchedules) -> None:
    global _stored_schedule
    _stored_schedule = source


def day_kind(day: dt.date) -> DayKind:
    stored = _stored_day_kind(day)
    if stored is not None:
        return stored
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        name = statutory_days(day.year).get(day)
        return DayKind(working=day.weekday() < 5 and name is None, holiday_name=name, covered=False)
    return DayKind(working=not on_holiday, holiday_name=name, covered=True)


def _stored_day_kind(day: dt.date) -> DayKind | None:
    # A December day may belong to the next year's schedule (a New Year's bridge), which then decides it.
    years = (day.year + 1, day.year) if day.month == 12 else (day.year,)
    for year in years:
        schedule = _stored_schedule(year)
        if schedule is None:
            continue
        if day in schedule:
            working, name = schedule[day]
            return DayKind(working=working, holiday_name=name, covered=True)
        if year == day.year:
            return DayKind(working=day.weekday() < 5, holiday_name=None, covered=True)
    return None


@functools.lru_cache(maxsize=64)
def statutory_days(year: int) -> dict[dt.date, str]:
    """The days off the law fixes in `year` (since 2025), named as chinese-calendar names them."""
    days = {dt.date(year, 1, 1): "New Year's Day", dt.date(year, 5, 1): "Labour Day",
            dt.date(year, 5, 2): "Labour Day"}
    days |= {dt.date(year, 10, d): "National Day" for d in (1, 2, 3)}
    # The solar term and the lunar dates are known for 1900-2100 and 1900-2099; beyond those years
    # (the API reaches 2199) only the Gregorian dates are kept.
    try:
        days |= {day: "Tomb-sweeping Day" for day, term in
                 chinese_calendar.get_solar_terms(dt.date(year, 4, 1), dt.date(year, 4, 10)) if term == "清明"}
        lunar_new_year = LunarDate(year, 1, 1).to_solar_date()
        days |= {lunar_new_year + dt.timedelta(days=d): "Spring Festival" for d in (-1, 0, 1, 2)}
        days[LunarDate(year, 5, 5).to_solar_date()] = "Dragon Boat Festival"
        days[LunarDate(year, 8, 15).to_solar_date()] = "Mid-autumn Festival"
    except (NotImplementedError, ValueError):
        pass
    return days


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
