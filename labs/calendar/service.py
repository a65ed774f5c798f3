"""Holiday schedule use cases: an admin stores, replaces or removes a year's schedule; labs.workdays
reads the stored years through the unit of work that is open in the caller's context.

Why through the open unit of work: working days are asked for deep inside services (booking and
verification deadlines, availability) that know nothing of this table. Reading the rows in the
caller's own transaction sees what that transaction sees, takes no second connection (on SQLite a
second writer would wait on the first), and is fresh in every transaction, so a schedule stored by
one worker is seen by every other at once. The rows are read only when a working day is asked
for, once per transaction and year.
"""
from __future__ import annotations

import weakref
from contextvars import ContextVar

from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from labs import audit, workdays
from labs.accounts.service import Actor, require_role
from labs.calendar.domain import ScheduleInvalid, YearSchedule, parse_schedule
from labs.calendar.models import HolidayDay
from labs.errors import Invalid, NotFound
from labs.i18n import N_, render

_CACHE = "labs.calendar.years"
# The sessions with an open transaction in this context (thread or request), the latest last.
_open_units: ContextVar[tuple[weakref.ref, ...]] = ContextVar("labs_calendar_open_units", default=())


def init_app(app) -> None:
    maker = app.extensions["labs.sessionmaker"]
    event.listen(maker, "after_begin", _began)
    event.listen(maker, "after_transaction_end", _ended)
    workdays.use_stored_schedules(stored_schedule)


def _began(session: Session, _transaction, _connection) -> None:
    units = _open_units.get()
    if not any(ref() is session for ref in units):
        _open_units.set((*units, weakref.ref(session)))


def _ended(session: Session, transaction) -> None:
    if transaction.parent is not None:  # a savepoint or subtransaction: the unit goes on
        return
    session.info.pop(_CACHE, None)
    _open_units.set(tuple(ref for ref in _open_units.get() if ref() not in (session, None)))


def stored_schedule(year: int) -> dict | None:
    """The stored schedule of `year` as {day: (working, holiday)}, read in the open unit of work;
    None when none is stored or no unit of work is open here (then the library and the law decide)."""
    session = next((ref() for ref in reversed(_open_units.get()) if ref() is not None), None)
    if session is None:
        return None
    cache = session.info.setdefault(_CACHE, {})
    if year not in cache:
        with session.no_autoflush:  # a caller's pending rows are flushed where it decides, not here
            rows = session.execute(select(HolidayDay.day, HolidayDay.working, HolidayDay.holiday)
                                   .where(HolidayDay.year == year)).all()
        cache[year] = {day: (working, holiday) for day, working, holiday in rows} or None
    return cache[year]


def list_years(session: Session) -> list[YearSchedule]:
    rows = session.scalars(select(HolidayDay).order_by(HolidayDay.day))
    years: dict[int, YearSchedule] = {}
    for row in rows:
        years.setdefault(row.year, YearSchedule(row.year, {})).days[row.day] = (row.working, row.holiday)
    return sorted(years.values(), key=lambda schedule: schedule.year)


def import_schedule(session: Session, actor: Actor | None, text: str) -> YearSchedule:
    """Store the schedule in `text` (labs.calendar.domain's format) for its year, replacing what was
    stored for that year."""
    actor = require_role(actor, "admin")
    try:
        schedule = parse_schedule(text)
    except ScheduleInvalid as invalid:
        raise Invalid(N_("The holiday schedule has errors."), {"schedule": [_problem_text(problem)
                                                                         for problem in invalid.problems]},
                      code="invalid_holiday_schedule") from None
    taken = sorted(session.scalars(select(HolidayDay.day).where(HolidayDay.day.in_(schedule.days),
                                                                 HolidayDay.year != schedule.year)))
    if taken:
        raise Invalid(N_("The holiday schedule has errors."), {"schedule": [
            render(N_("%(day)s is in the stored schedule of another year"), {"day": day.isoformat()}) for day in taken]},
            code="invalid_holiday_schedule")
    before = _remove(session, schedule.year)
    session.add_all(HolidayDay(year=schedule.year, day=day, working=working, holiday=holiday)
                    for day, (working, holiday) in schedule.days.items())
    session.flush()
    session.info.pop(_CACHE, None)
    audit.record(session, actor.id, "holidays.import", "holiday_year", schedule.year, before,
                 _snapshot(schedule.days))
    return schedule


def remove_schedule(session: Session, actor: Actor | None, year: int) -> None:
    """Forget a year's stored schedule: chinese-calendar and the law decide that year again."""
    actor = require_role(actor, "admin")
    before = _remove(session, year)
    if before is None:
        raise NotFound(N_("No holiday schedule is stored for %(year)s."), params={"year": year})
    session.info.pop(_CACHE, None)
    audit.record(session, actor.id, "holidays.remove", "holiday_year", year, before, None)


def _remove(session: Session, year: int) -> dict | None:
    rows = session.execute(select(HolidayDay.day, HolidayDay.working, HolidayDay.holiday)
                           .where(HolidayDay.year == year)).all()
    session.execute(delete(HolidayDay).where(HolidayDay.year == year))
    return _snapshot({day: (working, holiday) for day, working, holiday in rows}) if rows else None


def _snapshot(days: dict) -> dict:
    return {"days": [{"day": day.isoformat(), "working": working, "holiday": holiday}
                     for day, (working, holiday) in sorted(days.items())]}


def _problem_text(problem) -> str:
    """A problem of the schedule's text in the reader's language (English outside a request)."""
    text = render(problem.message, problem.params)
    return render(N_("line %(line)s: %(problem)s"), {"line": problem.line, "problem": text}) if problem.line else text
