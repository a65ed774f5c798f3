"""Booking benchmarks on PostgreSQL. Prints ratios against baselines measured in the same run:

1. availability query and booking creation with 1,000 versus 1,000,000 existing bookings
   (the ratio should stay under 1.5);
2. contended booking creation throughput as a fraction of a bare INSERT of the same rows;
3. the week view of 1,000 labs: SQL statements issued (constant in the number of labs).

    .venv/bin/python bench/booking/run.py [--url postgresql://postgres@127.0.0.1:5432/test] [--quick]
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import threading
import time

from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import make_url

from booking.availability import week_overview
from booking.models import Booking
from booking.service import BookingRequest, request_booking
from labs.accounts.models import User
from labs.accounts.service import create_user, issue_token
from labs.app import create_app
from labs.cli import upgrade
from labs.db import normalise_url, session_scope
from labs.workdays import day_kind

DB_NAME = "labs_bench"
TZ = dt.timezone(dt.timedelta(hours=8))


def fresh_database(admin_url: str) -> str:
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    return make_url(admin_url).set(database=DB_NAME).render_as_string(hide_password=False)


def add_labs(conn, first: int, last: int) -> None:
    """Labs first..last (ids), one bay, open 08:00-18:00 every day, booked a year ahead."""
    conn.execute(text(
        "INSERT INTO labs (id, code, name, discipline, location, timezone, bays, public_benefit, fee_per_hour, "
        "fee_per_batch, approval_mode, approval_deadline_days, document_deadline_days, min_duration_minutes, "
        "max_duration_minutes, max_advance_days, calendar_token) "
        "SELECT i, 'B' || i, 'Bench lab ' || i, 'bench', '', 'Asia/Shanghai', 1, false, 100, 10, 'manager', 3, 5, "
        "30, 480, 1200, 'tok' || i FROM generate_series(CAST(:a AS integer), CAST(:b AS integer)) i"), {"a": first, "b": last})
    conn.execute(text(
        "INSERT INTO opening_hours (lab_id, weekday, opens, closes) SELECT i, d, '08:00', '18:00' "
        "FROM generate_series(CAST(:a AS integer), CAST(:b AS integer)) i, generate_series(0, 6) d"), {"a": first, "b": last})
    conn.execute(text("SELECT setval('labs_id_seq', (SELECT max(id) FROM labs))"))


def add_background(conn, first: int, last: int, monday: dt.date, enterprise_id: int, user_id: int) -> None:
    """Bookings number first..last: lab 1 + i % 1000, 08:00-09:00 local on day (i // 1000) - 500
    relative to the probe week, so the million span 1,000 days around it."""
    base = dt.datetime.combine(monday, dt.time(8), TZ)
    conn.execute(text(
        "INSERT INTO bookings (lab_id, bay, enterprise_id, requester_id, starts_at, ends_at, status, test_type, "
        "sample_description, batches, contact_name, contact_phone, fee, created_at, decision_note, "
        "missing_documents, commitment_signed) "
        "SELECT 1 + i % 1000, 1, :e, :u, :base + ((i / 1000) - 500) * interval '1 day', "
        ":base + ((i / 1000) - 500) * interval '1 day' + interval '1 hour', "
        "(ARRAY['approved','completed','cancelled','requested'])[1 + i % 4], 'bench', 'bench', 1, 'c', '1', 110, "
        "now(), '', '', false FROM generate_series(CAST(:a AS integer), CAST(:b AS integer)) i"),
        {"e": enterprise_id, "u": user_id, "base": base, "a": first, "b": last})


def probe_monday() -> dt.date:
    day = dt.date.today() + dt.timedelta(days=60)
    return day - dt.timedelta(days=day.weekday())


def timed(fn, repeat: int) -> float:
    """Median seconds of `repeat` calls."""
    samples = []
    for i in range(repeat):
        t0 = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def open_days(first: dt.date, count: int) -> list[dt.date]:
    """The bench labs open every day but statutory holidays: `count` such days from `first`."""
    days, day = [], first
    while len(days) < count:
        if not day_kind(day).statutory_holiday:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def measure_scale(client, headers, monday: dt.date, repeat: int, hour_offset: int) -> tuple[float, float]:
    week = f"/api/v1/labs/1/availability?from={monday}&to={monday + dt.timedelta(days=6)}"
    days = open_days(monday, repeat // 4 + 1)

    def availability(_):
        assert client.get(week).status_code == 200

    def create(i):
        # Distinct free slots in lab 1: four half-hour slots (by i % 4) on open day i // 4, from 10:00.
        day = days[i // 4]
        start = dt.datetime.combine(day, dt.time(10 + hour_offset + 2 * (i % 4) // 2), TZ) + dt.timedelta(minutes=30 * (i % 2))
        body = {"lab_id": 1, "starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(minutes=30)).isoformat(),
                "test_type": "bench", "sample_description": "bench", "batches": 1, "contact_name": "c",
                "contact_phone": "13800000000"}
        r = client.post("/api/v1/bookings", json=body, headers=headers)
        assert r.status_code == 201, r.json

    return timed(availability, repeat), timed(create, repeat)


def contended_vs_bare(app, enterprise_user_id: int, monday: dt.date, slots: int, threads: int) -> tuple[float, float, int]:
    """Each of `slots` slots (labs 11..30) is requested twice, from `threads` threads at once.
    Returns (rows/s through request_booking, rows/s of bare INSERTs of the winning rows, winners)."""
    requests_ = []
    days = open_days(monday + dt.timedelta(days=7), slots // 160 + 1)
    for n in range(slots):
        lab, k = 11 + n % 20, n // 20
        start = dt.datetime.combine(days[k // 8], dt.time(9 + k % 8), TZ)
        req = BookingRequest(lab, start, start + dt.timedelta(hours=1), "bench", "bench", 1, "c", "13800000000")
        requests_ += [req, req]
    chunks = [requests_[i::threads] for i in range(threads)]
    created: list[Booking] = []
    lock = threading.Lock()

    def work(chunk):
        for req in chunk:
            with app.app_context(), session_scope(app) as s:
                try:
                    b = request_booking(s, s.get(User, enterprise_user_id), req)
                except Exception as exc:  # the 409 of a lost race
                    if type(exc).__name__ != "Conflict":
                        raise
                    continue
                s.flush()
                row = {c.name: getattr(b, c.key) for c in Booking.__table__.columns if c.name != "id"}
            with lock:
                created.append(row)

    t0 = time.perf_counter()
    pool = [threading.Thread(target=work, args=(c,)) for c in chunks]
    [t.start() for t in pool]
    [t.join() for t in pool]
    service_seconds = time.perf_counter() - t0

    engine = app.extensions["labs.engine"]
    with engine.begin() as conn:
        # The audit log is append-only (a trigger refuses DELETE): its rows of this phase stay.
        conn.execute(text("DELETE FROM notifications"))
        conn.execute(text("DELETE FROM bookings WHERE lab_id BETWEEN 11 AND 30"))
    rows = list(created)
    bare_chunks = [rows[i::threads] for i in range(threads)]

    def bare(chunk):
        for row in chunk:
            with engine.begin() as conn:
                conn.execute(insert(Booking.__table__), row)

    t0 = time.perf_counter()
    pool = [threading.Thread(target=bare, args=(c,)) for c in bare_chunks]
    [t.start() for t in pool]
    [t.join() for t in pool]
    bare_seconds = time.perf_counter() - t0
    return len(rows) / service_seconds, len(rows) / bare_seconds, len(rows)


def count_statements(engine, fn) -> int:
    count = 0

    def on_execute(*_):
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--quick", action="store_true", help="100,000 instead of 1,000,000 bookings")
    args = parser.parse_args()
    big = 100_000 if args.quick else 1_000_000
    repeat = 50 if args.quick else 200

    url = fresh_database(args.url)
    app = create_app({"DATABASE_URL": url})
    upgrade(app)
    engine = app.extensions["labs.engine"]
    monday = probe_monday()
    with app.app_context(), session_scope(app) as s:
        user = create_user(s, None, "bench@example.com", "bench-password", "enterprise", "bench",
                           "91110000600037341L", "Bench enterprise")
        uid, eid = user.id, user.enterprise_id
        token = issue_token(s, user)
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()

    print(f"PostgreSQL benchmark, probe week {monday}; medians of {repeat} calls")
    with engine.begin() as conn:
        add_labs(conn, 1, 10)
    with app.app_context():
        q10 = count_statements(engine, lambda: week_overview(app.extensions["labs.sessionmaker"](), monday))
    with engine.begin() as conn:
        add_labs(conn, 11, 1000)
        add_background(conn, 0, 999, monday, eid, uid)
        conn.execute(text("ANALYZE"))
    with app.app_context():
        session = app.extensions["labs.sessionmaker"]()
        t0 = time.perf_counter()
        q1000 = count_statements(engine, lambda: week_overview(session, monday))
        week_seconds = time.perf_counter() - t0
        session.close()
    print(f"week view: {q10} SQL statements for 10 labs, {q1000} for 1,000 labs "
          f"({'constant' if q10 == q1000 else 'NOT constant'}); 1,000 labs in {week_seconds * 1000:.0f} ms")

    with app.app_context():
        avail_small, create_small = measure_scale(client, headers, monday, repeat, 0)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM bookings WHERE lab_id = 1 AND test_type = 'bench' AND contact_name = 'c' "
                          "AND starts_at::time <> '00:00'"))
    t0 = time.perf_counter()
    step = 100_000
    for first in range(1000, big, step):
        with engine.begin() as conn:
            add_background(conn, first, min(first + step, big) - 1, monday, eid, uid)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
        total = conn.execute(text("SELECT count(*) FROM bookings")).scalar()
    print(f"grew to {total:,} bookings in {time.perf_counter() - t0:.0f} s")
    with app.app_context():
        avail_big, create_big = measure_scale(client, headers, monday, repeat, 0)
    print(f"availability (one lab, one week): {avail_small * 1000:.2f} ms at 1,000 bookings, "
          f"{avail_big * 1000:.2f} ms at {total:,}: ratio {avail_big / avail_small:.2f} (target < 1.5)")
    print(f"booking creation (HTTP POST):     {create_small * 1000:.2f} ms at 1,000 bookings, "
          f"{create_big * 1000:.2f} ms at {total:,}: ratio {create_big / create_small:.2f} (target < 1.5)")

    service_rate, bare_rate, rows = contended_vs_bare(app, uid, monday, 200 if args.quick else 400, 4)
    print(f"contended creation: {rows} rows won from {2 * rows} competing requests on 4 threads: "
          f"{service_rate:.0f} rows/s through request_booking vs {bare_rate:.0f} rows/s bare INSERT: "
          f"ratio {service_rate / bare_rate:.2f}")
    engine.dispose()


if __name__ == "__main__":
    main()
