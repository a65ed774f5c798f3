"""The clock of a request in working days: deadlines across National Day 2026 with its make-up
Saturday, and pauses for the enterprise that move them by exactly their length."""
from __future__ import annotations

import datetime as dt

from labs.services import domain, service
from tests.holidays import is_working_day
from tests.services.conftest import at

D = dt.date
BEFORE_NATIONAL_DAY = D(2026, 9, 29)  # a Tuesday; 1-7 October are off, Saturday 10 October is worked


def test_five_working_days_from_before_national_day_end_on_monday_12_october():
    # 30 Sep, then 8, 9, 10 (the make-up Saturday) and 12 October.
    assert domain.deadline(BEFORE_NATIONAL_DAY, 5, 0) == D(2026, 10, 12)
    assert domain.deadline(BEFORE_NATIONAL_DAY, 1, 0) == D(2026, 9, 30)


def test_working_days_between_counts_the_days_after_the_first_up_to_the_last():
    assert domain.working_days_between(D(2026, 9, 30), D(2026, 10, 8)) == 1
    assert domain.working_days_between(D(2026, 10, 8), D(2026, 10, 10)) == 2  # Friday and the make-up Saturday
    assert domain.working_days_between(D(2026, 10, 8), D(2026, 10, 8)) == 0
    assert domain.working_days_between(D(2026, 10, 9), D(2026, 10, 8)) == 0


def test_a_pause_of_n_working_days_moves_the_deadline_by_exactly_n_working_days():
    start = D(2026, 9, 1)
    for n in range(0, 12):
        moved = domain.deadline(start, 5, n)
        unmoved = domain.deadline(start, 5, 0)
        between = [unmoved + dt.timedelta(days=k) for k in range(1, (moved - unmoved).days + 1)]
        assert sum(is_working_day(d) for d in between) == n
        assert is_working_day(moved)


def test_request_before_national_day_paused_for_documents_is_due_two_working_days_later(app, world, bench, desk):
    user, _ = world.user("enterprise", enterprise=0)
    manager, _ = world.user("lab_manager")
    instrument = bench.instrument("electricity_meter")
    request = desk.submit(user, [instrument], now=at(BEFORE_NATIONAL_DAY, 9),
                          missing_documents="授权委托书", commitment_signed=True)
    assert desk.clock(request)["acceptance_due"] == D(2026, 9, 30)
    assert desk.clock(request)["conclusion_due"] == D(2026, 10, 12)
    desk.call(manager, "accept_request", request, now=at(BEFORE_NATIONAL_DAY, 15))

    desk.call(manager, "pause_clock", request, "missing_documents", "委托书未到", now=at(D(2026, 10, 8), 9))
    assert desk.clock(request)["conclusion_due"] is None  # the clock stands still
    desk.call(user, "deliver_documents", request, now=at(D(2026, 10, 10), 16))  # the make-up Saturday

    figures = desk.clock(request)
    assert figures["paused_days"] == 2
    assert figures["conclusion_due"] == D(2026, 10, 14)
    assert desk.steps(request) == ["requested", "accepted", "paused", "documents_delivered", "resumed"]


def test_a_pause_ended_the_day_it_began_moves_nothing(app, world, bench, desk):
    user, _ = world.user("enterprise", enterprise=0)
    clerk, _ = world.user("technician")
    request = desk.submit(user, [bench.instrument("electricity_meter")], now=at(BEFORE_NATIONAL_DAY, 9))
    desk.call(clerk, "pause_clock", request, "enterprise_unavailable", now=at(BEFORE_NATIONAL_DAY, 10))
    desk.call(clerk, "resume_clock", request, now=at(BEFORE_NATIONAL_DAY, 17))
    assert desk.clock(request)["conclusion_due"] == D(2026, 10, 12)


def test_documents_not_in_by_their_day_stop_the_clock_until_they_come(app, world, bench, desk):
    from labs.db import session_scope
    from labs.services.jobs import JOBS
    [(job, _trigger)] = JOBS
    user, _ = world.user("enterprise", enterprise=0)
    request = desk.submit(user, [bench.instrument("electricity_meter")], now=at(BEFORE_NATIONAL_DAY, 9),
                          missing_documents="营业执照副本", commitment_signed=True)
    with session_scope(app) as s:
        assert s.get(service.ServiceRequest, request).documents_due == D(2026, 10, 12)
    for moment in (at(D(2026, 10, 12), 23), at(D(2026, 10, 13), 0), at(D(2026, 10, 13), 9)):
        with session_scope(app) as s:
            job(s, moment)  # not overdue on the 12th; stopped once on the 13th, left alone after
    assert desk.steps(request) == ["requested", "paused"]
    with session_scope(app) as s:
        step = s.scalars(service.select(service.Step).where(service.Step.kind == "paused")).one()
        assert step.actor_id is None and step.detail["reason"] == "missing_documents"
    desk.call(user, "deliver_documents", request, now=at(D(2026, 10, 15), 11))
    figures = desk.clock(request)
    assert figures["paused_days"] == 2  # 14 and 15 October
    assert figures["conclusion_due"] == D(2026, 10, 14)  # 12 October moved by two working days
