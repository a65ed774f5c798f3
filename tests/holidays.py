"""The national holiday schedules as published, and the days off the law fixes, written out by hand:
what tests check labs.workdays against and pick dates with, so neither comes from the code under test.

The 2027 dates were worked out with lunardate once (lunar new year 2027-02-06, Dragon Boat 06-09,
Mid-Autumn 09-15) and chinese_calendar's solar terms (Qingming 04-05), then written down here.
"""
from __future__ import annotations

import datetime as dt

import chinese_calendar

D = dt.date
NEW_YEAR, SPRING, QINGMING, LABOUR = "New Year's Day", "Spring Festival", "Tomb-sweeping Day", "Labour Day"
DRAGON_BOAT, MID_AUTUMN, NATIONAL = "Dragon Boat Festival", "Mid-autumn Festival", "National Day"


def _span(first: dt.date, last: dt.date) -> set[dt.date]:
    return {first + dt.timedelta(days=n) for n in range((last - first).days + 1)}


# The State Council's notices: every day off, and the weekend days worked to make up for them.
PUBLISHED_DAYS_OFF = {
    2025: ({D(2025, 1, 1)} | _span(D(2025, 1, 28), D(2025, 2, 4)) | _span(D(2025, 4, 4), D(2025, 4, 6))
           | _span(D(2025, 5, 1), D(2025, 5, 5)) | _span(D(2025, 5, 31), D(2025, 6, 2))
           | _span(D(2025, 10, 1), D(2025, 10, 8))),
    2026: (_span(D(2026, 1, 1), D(2026, 1, 3)) | _span(D(2026, 2, 15), D(2026, 2, 23))
           | _span(D(2026, 4, 4), D(2026, 4, 6)) | _span(D(2026, 5, 1), D(2026, 5, 5))
           | _span(D(2026, 6, 19), D(2026, 6, 21)) | _span(D(2026, 9, 25), D(2026, 9, 27))
           | _span(D(2026, 10, 1), D(2026, 10, 7))),
}
PUBLISHED_MAKEUP_DAYS = {
    2025: {D(2025, 1, 26), D(2025, 2, 8), D(2025, 4, 27), D(2025, 9, 28), D(2025, 10, 11)},
    2026: {D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)},
}

# The days off the law fixes (as amended in 2024): New Year's Day; the lunar new year's eve and first
# three days; Qingming; 1-2 May; Dragon Boat; Mid-Autumn; 1-3 October.
LAW_FIXED_DAYS = {
    2025: {D(2025, 1, 1): NEW_YEAR, D(2025, 1, 28): SPRING, D(2025, 1, 29): SPRING, D(2025, 1, 30): SPRING,
           D(2025, 1, 31): SPRING, D(2025, 4, 4): QINGMING, D(2025, 5, 1): LABOUR, D(2025, 5, 2): LABOUR,
           D(2025, 5, 31): DRAGON_BOAT, D(2025, 10, 6): MID_AUTUMN, D(2025, 10, 1): NATIONAL,
           D(2025, 10, 2): NATIONAL, D(2025, 10, 3): NATIONAL},
    2026: {D(2026, 1, 1): NEW_YEAR, D(2026, 2, 16): SPRING, D(2026, 2, 17): SPRING, D(2026, 2, 18): SPRING,
           D(2026, 2, 19): SPRING, D(2026, 4, 5): QINGMING, D(2026, 5, 1): LABOUR, D(2026, 5, 2): LABOUR,
           D(2026, 6, 19): DRAGON_BOAT, D(2026, 9, 25): MID_AUTUMN, D(2026, 10, 1): NATIONAL,
           D(2026, 10, 2): NATIONAL, D(2026, 10, 3): NATIONAL},
    2027: {D(2027, 1, 1): NEW_YEAR, D(2027, 2, 5): SPRING, D(2027, 2, 6): SPRING, D(2027, 2, 7): SPRING,
           D(2027, 2, 8): SPRING, D(2027, 4, 5): QINGMING, D(2027, 5, 1): LABOUR, D(2027, 5, 2): LABOUR,
           D(2027, 6, 9): DRAGON_BOAT, D(2027, 9, 15): MID_AUTUMN, D(2027, 10, 1): NATIONAL,
           D(2027, 10, 2): NATIONAL, D(2027, 10, 3): NATIONAL},
}

# No day the law fixes can fall in these months, whatever the lunar calendar does: the Spring
# Festival days lie within 20 January - 22 February, Dragon Boat within 27 May - 26 June,
# Mid-Autumn within 7 September - 8 October (lunardate, 1901-2099).
MONTHS_WITHOUT_STATUTORY_DAYS = (3, 7, 8, 11, 12)


def covered(year: int) -> bool:
    """Whether the installed chinese_calendar knows the year's published schedule."""
    try:
        chinese_calendar.get_holiday_detail(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def first_uncovered_year() -> int:
    """The first year from this one that the installed chinese_calendar does not know yet."""
    year = dt.date.today().year
    while covered(year):
        year += 1
    return year


def is_working_day(day: dt.date) -> bool:
    """The published schedule where chinese_calendar knows it; for a year it does not, Monday to
    Friday apart from the days the law fixes, as written out above."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        pass
    if day.year in LAW_FIXED_DAYS:
        return day.weekday() < 5 and day not in LAW_FIXED_DAYS[day.year]
    if day.month in MONTHS_WITHOUT_STATUTORY_DAYS:
        return day.weekday() < 5
    raise AssertionError(f"chinese_calendar does not know {day.year}: write the law's days off for "
                         f"{day.year} into LAW_FIXED_DAYS in tests/holidays.py (or upgrade chinesecalendar)")
