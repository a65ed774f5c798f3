"""Reading a year's holiday schedule from its text form, and checking it.

The format, one day a line (blank lines and lines starting with # are skipped):

    date,kind,holiday
    2027-01-01,off,New Year's Day
    2027-02-20,work,Spring Festival

`kind` is `off` (a day off of the holiday) or `work` (a weekend day worked to make up for it);
`holiday` is the holiday's English name as chinese-calendar names it, or its Chinese name (春节 or 春節).
The schedule is for the year of its latest day; its days lie in that year or in the December
before it (a New Year's bridge). Every day off the law fixes in that year must be off in it.
"""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass

from labs.workdays import statutory_days

MAX_CHARS = 16_384  # a published year has about forty days; this leaves room for comments
MAX_LINES = 400
HEADER = ["date", "kind", "holiday"]
KINDS = {"off": False, "work": True}  # kind -> working
# The holidays of 全国年节及纪念日放假办法, English as chinese-calendar names them (their msgids too).
HOLIDAYS = {"New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
            "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "Mid-autumn Festival": "中秋节",
            "National Day": "国庆节"}
_TRADITIONAL = {"春节": "春節", "清明节": "清明節", "劳动节": "勞動節", "端午节": "端午節", "中秋节": "中秋節",
                "国庆节": "國慶節"}
_BY_CHINESE = {name: english for english, chinese in HOLIDAYS.items()
               for name in (chinese, _TRADITIONAL.get(chinese, chinese))}


@dataclass(frozen=True)
class Problem:
    line: int | None  # None: the schedule as a whole
    message: str  # an English msgid with %(name)s placeholders
    params: dict


class ScheduleInvalid(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        self.problems = problems


@dataclass(frozen=True)
class YearSchedule:
    year: int
    days: dict[dt.date, tuple[bool, str]]  # day -> (working, holiday)


def parse_schedule(text: str) -> YearSchedule:
    """The schedule in `text`, or ScheduleInvalid naming every problem found (line by line)."""
    if len(text) > MAX_CHARS or text.count("\n") > MAX_LINES:
        raise ScheduleInvalid([Problem(None, "the schedule is longer than %(limit)s characters or %(lines)s lines",
                                       {"limit": MAX_CHARS, "lines": MAX_LINES})])
    problems: list[Problem] = []
    days: dict[dt.date, tuple[bool, str]] = {}
    header_seen = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [cell.strip() for cell in next(csv.reader([line]))]
        if not header_seen:
            header_seen = True
            if [cell.lower() for cell in cells] == HEADER:
                continue
        if len(cells) != 3:
            problems.append(Problem(number, "expected three values: date, kind (off or work) and holiday", {}))
            continue
        date_text, kind, holiday = cells
        try:
            day = dt.date.fromisoformat(date_text)
        except ValueError:
            problems.append(Problem(number, "%(value)s is not a date like 2027-01-01", {"value": date_text[:40]}))
            continue
        if kind.lower() not in KINDS:
            problems.append(Problem(number, "the kind is off or work, not %(value)s", {"value": kind[:40]}))
            continue
        holiday = _BY_CHINESE.get(holiday, holiday)
        if holiday not in HOLIDAYS:
            problems.append(Problem(number, "unknown holiday %(value)s; one of: %(names)s",
                                    {"value": holiday[:40], "names": ", ".join(HOLIDAYS)}))
            continue
        working = KINDS[kind.lower()]
        if day in days:
            problems.append(Problem(number, "%(day)s is listed twice", {"day": day.isoformat()}))
        elif working and day.weekday() < 5:
            problems.append(Problem(number, "%(day)s is a weekday: a make-up working day is a Saturday or Sunday",
                                    {"day": day.isoformat()}))
        days[day] = (working, holiday)
    if not days:
        problems.append(Problem(None, "the schedule lists no days", {}))
    if problems:
        raise ScheduleInvalid(problems)
    year = max(days).year
    problems += [Problem(None, "%(day)s is not in %(year)s or the December before it",
                         {"day": day.isoformat(), "year": year})
                 for day in sorted(days) if day < dt.date(year - 1, 12, 1)]
    problems += [Problem(None, "%(day)s (%(holiday)s) is a day off by law but is not off in the schedule",
                         {"day": day.isoformat(), "holiday": name})
                 for day, name in sorted(statutory_days(year).items()) if days.get(day, (True,))[0]]
    if problems:
        raise ScheduleInvalid(problems)
    return YearSchedule(year, days)


def to_text(schedule: YearSchedule) -> str:
    """The schedule in the format parse_schedule reads (the page shows a stored year so)."""
    lines = [",".join(HEADER)]
    lines += [f"{day.isoformat()},{'work' if working else 'off'},{holiday}"
              for day, (working, holiday) in sorted(schedule.days.items())]
    return "\n".join(lines) + "\n"
