"""When a lab is open: weekday hours, the national holiday calendar, weekend service days, closures.

Plain values in, plain values out, so the rules are tested without a database.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from labs.workdays import day_kind

Interval = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class Hours:
    weekday: int
    opens: dt.time
    closes: dt.time


def open_intervals(day: dt.date, hours: list[Hours], tz: ZoneInfo) -> list[Interval]:
    """The lab's open intervals on a local date, as aware datetimes.

    Statutory holidays close the lab. A working day uses its weekday's hours; a make-up working
    day on a weekend (调休) uses Monday's, the regular working-day hours. An ordinary weekend day is
    open only where the lab declares weekend service hours for it.
    """
    kind = day_kind(day)
    if kind.statutory_holiday:
        return []
    weekday = day.weekday()
    if kind.working and weekday >= 5:
        weekday = 0
    return [
        (dt.datetime.combine(day, h.opens, tz), dt.datetime.combine(day, h.closes, tz))
        for h in hours if h.weekday == weekday
    ]


def subtract(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    """Half-open interval difference: what remains of `intervals` outside every hole. A piece's ends
    keep the offset of the interval it was cut from (a hole's end from the database is in UTC), so
    a span's start and end are written with the same offset."""
    out = []
    for start, end in intervals:
        pieces = [(start, end)]
        for h_start, h_end in holes:
            next_pieces = []
            for p_start, p_end in pieces:
                if h_end <= p_start or h_start >= p_end:
                    next_pieces.append((p_start, p_end))
                    continue
                if p_start < h_start:
                    next_pieces.append((p_start, h_start.astimezone(p_start.tzinfo)))
                if h_end < p_end:
                    next_pieces.append((h_end.astimezone(p_end.tzinfo), p_end))
            pieces = next_pieces
        out.extend(pieces)
    return out


def within_opening(start: dt.datetime, end: dt.datetime, hours: list[Hours], tz: ZoneInfo) -> bool:
    """True when [start, end) lies inside one open interval of its local day."""
    local_start = start.astimezone(tz)
    return any(o <= start and end <= c for o, c in open_intervals(local_start.date(), hours, tz))
