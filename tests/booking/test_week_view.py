"""The week view of every lab costs the same number of SQL statements however many labs there are."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import event

from booking.availability import week_overview
from tests.conftest import booking_body, next_working_day


def _statements(app, monday: dt.date) -> tuple[int, dict]:
    engine = app.extensions["labs.engine"]
    count = 0

    def on_execute(*_):
        nonlocal count
        count += 1

    session = app.extensions["labs.sessionmaker"]()
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        view = week_overview(session, monday)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        session.close()
    return count, view


def test_week_view_statement_count_does_not_grow_with_labs(app, world):
    day = next_working_day()
    monday = day - dt.timedelta(days=day.weekday())
    _, alice = world.user("enterprise", enterprise=0)
    first = world.lab(bays=2)
    world.client.post("/api/v1/bookings", json=booking_body(first, day, 9, 12), headers=world.token(alice))
    few, view = _statements(app, monday)
    assert len(view["labs"]) == 1
    wednesday = view["labs"][0]["days"][2]
    assert wednesday["open_bay_hours"] == 20.0 and wednesday["free_bay_hours"] == 17.0
    for _ in range(12):
        world.lab()
    many, view = _statements(app, monday)
    assert len(view["labs"]) == 13
    assert many == few
