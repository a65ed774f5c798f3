"""Property-based tests of the booking rules: overlap, opening hours, recurrence, fees, working days.

The domain functions are plain Python, so Hypothesis drives them with plain values; the last test
drives the real service and database with random requests and cancellations.
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from lunardate import LunarDate
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy import select

from booking import domain
from labs.catalog.domain import Hours, open_intervals, subtract, within_opening
from labs.api import LAST_DAY
from labs.workdays import add_working_days, day_kind, statutory_days, uncovered_years
from tests.holidays import LAW_FIXED_DAYS, PUBLISHED_DAYS_OFF, PUBLISHED_MAKEUP_DAYS, first_uncovered_year

UTC = dt.timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")  # has daylight saving time, unlike Shanghai
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
BASE = dt.datetime(2026, 1, 1, tzinfo=UTC)

minutes = st.integers(min_value=0, max_value=60 * 24 * 30)
instants = minutes.map(lambda m: BASE + dt.timedelta(minutes=m))


@st.composite
def intervals(draw, max_minutes=60 * 24 * 30):
    start = draw(st.integers(0, max_minutes))
    length = draw(st.integers(1, 60 * 24))
    return BASE + dt.timedelta(minutes=start), BASE + dt.timedelta(minutes=start + length)


def _minute_set(spans):
    """The set of minutes covered, to compare interval arithmetic with plain set arithmetic."""
    out = set()
    for s, e in spans:
        out.update(range(int((s - BASE).total_seconds() // 60), int((e - BASE).total_seconds() // 60)))
    return out


def _seconds(spans):
    return sum((e - s).total_seconds() for s, e in spans)


# --- overlap ---------------------------------------------------------------------------------------

@given(intervals(), intervals())
def test_overlaps_is_symmetric_and_means_a_non_empty_intersection(a, b):
    result = domain.overlaps(*a, *b)
    assert result == domain.overlaps(*b, *a)
    assert result == (max(a[0], b[0]) < min(a[1], b[1]))
    assert result == bool(_minute_set([a]) & _minute_set([b]))


@given(intervals(), st.integers(1, 60 * 24))
def test_back_to_back_slots_never_overlap(a, length):
    follower = (a[1], a[1] + dt.timedelta(minutes=length))
    assert not domain.overlaps(*a, *follower)
    assert not domain.overlaps(*follower, *a)


@given(intervals())
def test_an_interval_overlaps_itself(a):
    assert domain.overlaps(*a, *a)


# --- subtract ----------------------------------------------------------------------------------------

@given(st.lists(intervals(), max_size=3), st.lists(intervals(), max_size=5))
def test_subtract_leaves_what_is_outside_every_hole(spans, holes):
    # Opening intervals of a day never overlap one another.
    spans = [s for i, s in enumerate(spans) if not any(domain.overlaps(*s, *t) for t in spans[:i])]
    rest = subtract(spans, holes)
    assert all(s < e for s, e in rest)
    for piece in rest:
        assert not any(domain.overlaps(*piece, *hole) for hole in holes)
        assert any(o <= piece[0] and piece[1] <= c for o, c in spans)
    assert _minute_set(rest) == _minute_set(spans) - _minute_set(holes)
    removed = _minute_set(spans) & _minute_set(holes)
    assert _seconds(rest) == _seconds(spans) - 60 * len(removed)


@given(st.lists(intervals(), max_size=3))
def test_subtracting_nothing_changes_nothing(spans):
    assert subtract(spans, []) == spans


# --- opening hours ----------------------------------------------------------------------------------

times = st.integers(0, 23 * 4).map(lambda q: dt.time(q // 4, (q % 4) * 15))


@st.composite
def weekly_hours(draw):
    out = []
    for weekday in draw(st.sets(st.integers(0, 6), max_size=7)):
        opens = draw(times)
        closes_q = draw(st.integers(opens.hour * 4 + opens.minute // 15 + 1, 24 * 4 - 1))
        out.append(Hours(weekday, opens, dt.time(closes_q // 4, (closes_q % 4) * 15)))
    return out


days = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2029, 12, 31))


@given(days, weekly_hours(), st.sampled_from([SHANGHAI, BERLIN]))
def test_open_intervals_are_inside_their_local_day_and_follow_the_day_kind(day, hours, tz):
    spans = open_intervals(day, hours, tz)
    kind = day_kind(day)
    for s, e in spans:
        assert s < e
        assert s.astimezone(tz).date() == day and e.astimezone(tz).date() == day
    if kind.statutory_holiday:
        assert spans == []
    elif kind.working:
        weekday = 0 if day.weekday() >= 5 else day.weekday()  # make-up days use Monday's hours
        assert len(spans) == sum(1 for h in hours if h.weekday == weekday)
    else:
        assert len(spans) == sum(1 for h in hours if h.weekday == day.weekday())


@given(days.filter(lambda d: day_kind(d).statutory_holiday))
def test_a_statutory_holiday_has_no_open_intervals(day):
    every_day = [Hours(d, dt.time(0), dt.time(23, 59)) for d in range(7)]
    assert open_intervals(day, every_day, SHANGHAI) == []


@given(days, weekly_hours(), st.integers(0, 24 * 4 - 1), st.integers(1, 24 * 4))
def test_within_opening_iff_inside_one_open_interval(day, hours, start_q, length_q):
    start = dt.datetime.combine(day, dt.time(), SHANGHAI) + dt.timedelta(minutes=15 * start_q)
    end = start + dt.timedelta(minutes=15 * length_q)
    spans = open_intervals(day, hours, SHANGHAI)
    inside = any(o <= start and end <= c for o, c in spans)
    assert within_opening(start, end, hours, SHANGHAI) == inside
    assert within_opening(start.astimezone(UTC), end.astimezone(UTC), hours, SHANGHAI) == inside


# --- recurrence --------------------------------------------------------------------------------------

@given(days, st.integers(8 * 4, 18 * 4), st.integers(1, 8), st.integers(1, 52),
       st.sampled_from([SHANGHAI, BERLIN]))
def test_weekly_occurrences_keep_local_wall_clock_time_and_weekday(day, start_q, length_q, weeks, tz):
    # Daytime slots: daylight-saving changes happen at night and never make a daytime time vanish.
    start = dt.datetime.combine(day, dt.time(start_q // 4, (start_q % 4) * 15), tz)
    end = start + dt.timedelta(minutes=15 * length_q)
    occurrences = domain.weekly_occurrences(start.astimezone(UTC), end.astimezone(UTC), weeks, tz)
    assert len(occurrences) == weeks
    first_local = occurrences[0][0].astimezone(tz)
    assert first_local == start
    for i, (s, e) in enumerate(occurrences):
        assert s.utcoffset() == dt.timedelta(0)
        local_s, local_e = s.astimezone(tz), e.astimezone(tz)
        assert local_s.time() == start.time() and local_e.time() == end.time()
        assert local_s.weekday() == start.weekday()
        assert local_s.date() - start.date() == dt.timedelta(weeks=i)
    for (a, _), (b, _) in zip(occurrences, occurrences[1:]):
        assert b.astimezone(tz).replace(tzinfo=None) - a.astimezone(tz).replace(tzinfo=None) == dt.timedelta(days=7)


@given(intervals(), st.integers(1, 52))
def test_weekly_occurrences_of_a_series_never_overlap_each_other(slot, weeks):
    assume(slot[1] - slot[0] < dt.timedelta(days=7))
    occurrences = domain.weekly_occurrences(*slot, weeks, SHANGHAI)
    for i, a in enumerate(occurrences):
        for b in occurrences[i + 1:]:
            assert not domain.overlaps(*a, *b)


# --- slot rules and fees --------------------------------------------------------------------------

@given(instants, intervals(), st.integers(5, 600), st.integers(5, 600), st.integers(1, 400))
def test_slot_problems_are_empty_exactly_when_every_rule_holds(now, slot, min_m, max_m, advance_days):
    assume(min_m <= max_m)
    rules = domain.SlotRules(dt.timedelta(minutes=min_m), dt.timedelta(minutes=max_m),
                             dt.timedelta(days=advance_days))
    start, end = slot
    ok = (start >= now and rules.min_duration <= end - start <= rules.max_duration
          and start - now <= rules.max_advance)
    assert (domain.slot_problems(rules, now, start, end) == []) == ok


@given(instants, intervals())
def test_a_slot_that_ends_before_it_starts_has_one_clear_problem(now, slot):
    rules = domain.SlotRules(dt.timedelta(minutes=30), dt.timedelta(hours=8), dt.timedelta(days=90))
    assert domain.slot_problems(rules, now, slot[1], slot[0]) == ["the end must be after the start"]


@pytest.mark.parametrize("end, tz, last_day", [
    (dt.datetime(2026, 12, 2, 7, 30, tzinfo=SHANGHAI), SHANGHAI, dt.date(2026, 12, 2)),  # 12-01 in UTC
    (dt.datetime(2026, 12, 2, 19, tzinfo=LOS_ANGELES), LOS_ANGELES, dt.date(2026, 12, 2)),  # 12-03 in UTC
    (dt.datetime(2026, 12, 3, tzinfo=SHANGHAI), SHANGHAI, dt.date(2026, 12, 2)),  # ends at midnight
])
def test_calibration_must_cover_the_last_day_of_the_slot_on_the_labs_calendar(end, tz, last_day):
    assert domain.last_local_day(end.astimezone(UTC), tz) == last_day
    assert domain.calibration_covers(last_day, end.astimezone(UTC), tz)
    assert not domain.calibration_covers(last_day - dt.timedelta(days=1), end.astimezone(UTC), tz)


money = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)


@given(money, money, intervals(), st.integers(1, 1000))
def test_fee_is_hours_pro_rata_plus_batches_and_zero_in_public_benefit_labs(per_hour, per_batch, slot, batches):
    start, end = slot
    charged = domain.fee(False, per_hour, per_batch, start, end, batches)
    exact = per_hour * Decimal((end - start).total_seconds()) / 3600 + per_batch * batches
    assert charged >= 0
    assert abs(charged - exact) <= Decimal("0.005")
    assert charged == charged.quantize(Decimal("0.01"))
    assert domain.fee(True, per_hour, per_batch, start, end, batches) == Decimal("0.00")


# --- working days -----------------------------------------------------------------------------------

@given(st.dates(min_value=dt.date(first_uncovered_year(), 1, 1), max_value=LAST_DAY))
def test_years_the_calendar_does_not_cover_fall_back_to_the_statutory_days_and_weekends(day):
    kind = day_kind(day)
    assert not kind.covered
    statutory = statutory_days(day.year)
    assert kind.holiday_name == statutory.get(day)
    assert kind.working == (day.weekday() < 5 and day not in statutory)
    assert uncovered_years(day, day) == [day.year]
    y = day.year
    fixed = {dt.date(y, 1, 1), dt.date(y, 5, 1), dt.date(y, 5, 2), dt.date(y, 10, 1), dt.date(y, 10, 2), dt.date(y, 10, 3)}
    assert fixed <= set(statutory) and all(d.year == y for d in statutory)
    if y < 2100:  # 13 days, 12 when Mid-Autumn falls on 1-3 October; beyond 2099 the lunar ones are unknown
        assert len(statutory) == 13 or (len(statutory) == 12 and statutory[LunarDate(y, 8, 15).to_solar_date()]
                                        == "Mid-autumn Festival" and LunarDate(y, 8, 15).to_solar_date() in fixed)
    if y in LAW_FIXED_DAYS:
        assert statutory == LAW_FIXED_DAYS[y]


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_the_days_the_law_fixes_are_those_worked_out_by_hand(year):
    assert statutory_days(year) == LAW_FIXED_DAYS[year]


@pytest.mark.parametrize("year", sorted(PUBLISHED_DAYS_OFF))
def test_published_years_follow_the_schedule_as_published_and_it_keeps_the_days_the_law_fixes(year):
    assert set(LAW_FIXED_DAYS[year]) <= PUBLISHED_DAYS_OFF[year]
    day = dt.date(year, 1, 1)
    while day.year == year:
        kind = day_kind(day)
        assert kind.covered
        if day in PUBLISHED_DAYS_OFF[year]:
            assert not kind.working, day
        elif day in PUBLISHED_MAKEUP_DAYS[year]:
            assert kind.working and kind.makeup_working, day
        else:
            assert kind.working == (day.weekday() < 5) and kind.holiday_name is None, day
        day += dt.timedelta(days=1)


@pytest.mark.parametrize("year", sorted(LAW_FIXED_DAYS))
def test_the_days_the_law_fixes_are_closed_and_a_year_without_a_schedule_closes_only_weekends_besides(year):
    day = dt.date(year, 1, 1)
    while day.year == year:
        kind = day_kind(day)
        if day in LAW_FIXED_DAYS[year]:
            assert kind.statutory_holiday and kind.holiday_name == LAW_FIXED_DAYS[year][day], day
        elif not kind.covered:
            assert kind.working == (day.weekday() < 5) and kind.holiday_name is None, day
        day += dt.timedelta(days=1)


@given(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2031, 12, 31)), st.integers(0, 30))
def test_add_working_days_counts_exactly_n_working_days_after_the_start(start, n):
    due = add_working_days(start, n)
    assert due >= start
    between = [start + dt.timedelta(days=i) for i in range(1, (due - start).days + 1)]
    assert sum(1 for d in between if day_kind(d).working) == n
    if n:
        assert day_kind(due).working


def test_known_holidays_and_make_up_days_come_from_the_national_calendar():
    national_day = day_kind(dt.date(2026, 10, 1))
    assert national_day.statutory_holiday and national_day.covered
    assert day_kind(dt.date(2026, 10, 10)).makeup_working  # a Saturday worked for the National Day
    monday_hours = [Hours(0, dt.time(8), dt.time(17))]
    assert open_intervals(dt.date(2026, 10, 10), monday_hours, SHANGHAI) == [
        (dt.datetime(2026, 10, 10, 8, tzinfo=SHANGHAI), dt.datetime(2026, 10, 10, 17, tzinfo=SHANGHAI))]


# --- the database never holds two active bookings overlapping on a bay -------------------------------

@pytest.mark.parametrize("seed", [1, 2])
def test_random_requests_and_cancellations_never_overlap_on_a_bay(world, seed):
    from booking import service
    from booking.models import Booking
    from labs.accounts.models import User
    from labs.db import session_scope
    from labs.errors import Conflict, Invalid
    from tests.conftest import next_working_day

    rng = random.Random(seed)
    lab_id = world.lab(bays=2, approval_mode=rng.choice(["instant", "manager"]), min_duration_minutes=30)
    users = [world.user("enterprise", enterprise=i)[0] for i in range(3)]
    day = next_working_day()
    booked: list[int] = []
    outcomes = {"booked": 0, "refused": 0, "cancelled": 0}
    for _ in range(60):
        with session_scope(world.app) as s:
            actor = s.get(User, rng.choice(users))
            if booked and rng.random() < 0.3:
                booking_id = booked.pop(rng.randrange(len(booked)))
                booking = s.get(Booking, booking_id)
                owner = s.scalar(select(User).where(User.enterprise_id == booking.enterprise_id))
                try:
                    service.transition(s, owner, booking_id, "cancel")
                    outcomes["cancelled"] += 1
                except Conflict:
                    pass
                continue
            start_q = rng.randrange(8 * 2, 17 * 2)  # half-hours from 08:00
            length_q = rng.randrange(1, 6)
            start = dt.datetime.combine(day, dt.time(), SHANGHAI) + dt.timedelta(minutes=30 * start_q)
            req = service.BookingRequest(lab_id=lab_id, starts_at=start, ends_at=start + dt.timedelta(minutes=30 * length_q),
                                         test_type="t", sample_description="s", batches=1,
                                         contact_name="c", contact_phone="13800000000")
            try:
                booked.append(service.request_booking(s, actor, req).id)
                outcomes["booked"] += 1
            except (Conflict, Invalid):
                s.rollback()
                outcomes["refused"] += 1
    assert outcomes["booked"] and outcomes["refused"]
    with session_scope(world.app) as s:
        active = s.scalars(select(Booking).where(Booking.lab_id == lab_id, Booking.status.in_(domain.ACTIVE))).all()
        for i, a in enumerate(active):
            assert a.bay in (1, 2)
            for b in active[i + 1:]:
                assert not (a.bay == b.bay and domain.overlaps(a.starts_at, a.ends_at, b.starts_at, b.ends_at)), (a.id, b.id)
