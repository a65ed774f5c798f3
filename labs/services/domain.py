"""The clock of a verification request, in working days (labs.workdays: holidays and make-up days),
and the monthly figures the public sees. Plain Python: dates in, dates and numbers out.

A deadline is the n-th working day after the day of the request. The clock stops only while the
bureau waits for the enterprise; a pause that started on day a and ended on day b lasts the working
days after a up to and including b, and moves every later deadline by exactly that many.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from labs.workdays import add_working_days, day_kind

# What each act may follow: the request's state machine.
TRANSITIONS = {
    "accept": ("requested",),
    "refuse": ("requested",),
    "pause": ("requested", "accepted"),
    "documents": ("requested", "accepted"),
    "run": ("accepted",),
}


def working_days_between(start: dt.date, end: dt.date) -> int:
    """The working days after `start` up to and including `end` (0 when end is not after start)."""
    n, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        n += day_kind(day).working
    return n


def deadline(submitted_on: dt.date, days: int, paused_days: int) -> dt.date:
    return add_working_days(submitted_on, days + paused_days)


def working_days_taken(submitted_on: dt.date, concluded_on: dt.date, paused_days: int) -> int:
    """How long the bureau took: the working days from the request to its conclusion, pauses left out."""
    return max(0, working_days_between(submitted_on, concluded_on) - paused_days)


@dataclass(frozen=True)
class Concluded:
    """One concluded request, as the monthly figures count it."""

    mode: str
    on_time: bool
    working_days: int


@dataclass(frozen=True)
class MonthFigures:
    mode: str
    requests: int  # made in the month
    concluded: int  # of those, concluded so far
    on_time: int
    mean_working_days: float | None

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.concluded if self.concluded else None


def month_figures(modes: tuple[str, ...], made: dict[str, int], concluded: list[Concluded]) -> list[MonthFigures]:
    """Per service: requests made in the month, and of those concluded, the share on time and the
    mean working days taken."""
    out = []
    for mode in modes:
        done = [c for c in concluded if c.mode == mode]
        mean = round(sum(c.working_days for c in done) / len(done), 1) if done else None
        out.append(MonthFigures(mode, made.get(mode, 0), len(done), sum(c.on_time for c in done), mean))
    return out
