"""labs.db.read_outside_transaction: the check in front of a cached public answer. It must see every
commit made elsewhere at once, and survive a connection the server dropped."""
from __future__ import annotations

import datetime as dt
import time
from select import select as select_

from sqlalchemy import func, insert, select, text

from labs.spotchecks.models import Plan, Region
from labs.db import _readers, read_outside_transaction, session_scope

COUNT = select(func.count()).select_from(Region)


def _add_region(app, code: str) -> None:
    with session_scope(app) as session:
        session.add(Region(code=code, name=f"测试区 {code}"))


def test_every_commit_elsewhere_is_seen_at_once(app):
    engine = app.extensions["labs.engine"]
    before = read_outside_transaction(engine, COUNT)[0][0]
    assert read_outside_transaction(engine, COUNT)[0][0] == before  # nothing written: the same answer
    _add_region(app, "990101")
    assert read_outside_transaction(engine, COUNT)[0][0] == before + 1
    _add_region(app, "990102")
    assert read_outside_transaction(engine, COUNT)[0][0] == before + 2


def test_a_connection_the_server_dropped_is_replaced(app):
    engine = app.extensions["labs.engine"]
    before = read_outside_transaction(engine, COUNT)[0][0]
    connection = _readers.by_engine[engine].connection
    if engine.dialect.name == "postgresql":
        with engine.connect() as other:  # as a restarted server or an administrator would
            pid = connection.dbapi_connection.info.backend_pid
            assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    else:
        connection.dbapi_connection.close()
    _add_region(app, "990103")
    assert read_outside_transaction(engine, COUNT)[0][0] == before + 1
    assert _readers.by_engine[engine].connection is not connection


# --- what the public pages check: answers kept until the database says a watched table changed ------------

PLANS = select(func.count()).select_from(Plan)


def _add_plan(app, name: str) -> None:
    with session_scope(app) as session:
        session.add(Plan(name=name, instrument_kind="fuel_dispenser", regions=["320100"], entity_kinds=["fuel_station"],
                         shares={"high": "1"}, draw_date=dt.date(2026, 12, 1), state="drawn"))


def _insert_plan_elsewhere(engine, name: str) -> None:
    """Written as another process would: no ORM session of this one knows of it."""
    with engine.begin() as conn:
        conn.execute(insert(Plan).values(name=name, instrument_kind="fuel_dispenser", regions=["320100"],
                                         entity_kinds=["fuel_station"], shares={"high": "1"},
                                         draw_date=dt.date(2026, 12, 1), state="drawn"))


def _seen(engine, count: int) -> bool:
    """Whether the reader comes to see `count` plans: at once on SQLite; on PostgreSQL when the
    change notice has reached this process (a moment after the commit), awaited up to 30 s."""
    deadline = time.monotonic() + 30
    while read_outside_transaction(engine, PLANS)[0][0] != count:
        if time.monotonic() > deadline:
            return False
        select_([_readers.by_engine[engine].connection.dbapi_connection.fileno()], [], [], 0.05)
    return True


def test_a_watched_tables_answer_is_kept_until_it_changes(app):
    engine = app.extensions["labs.engine"]
    first = read_outside_transaction(engine, PLANS)
    assert read_outside_transaction(engine, PLANS) is first  # kept: nothing was asked of the database
    _add_plan(app, "本进程的计划")
    assert read_outside_transaction(engine, PLANS)[0][0] == first[0][0] + 1  # this process's commit: at once
    kept = read_outside_transaction(engine, PLANS)
    assert read_outside_transaction(engine, PLANS) is kept
    _insert_plan_elsewhere(engine, "另一进程的计划")
    assert _seen(engine, first[0][0] + 2)


def test_a_lost_notice_connection_is_replaced_and_the_answer_read_again(app):
    engine = app.extensions["labs.engine"]
    before = read_outside_transaction(engine, PLANS)[0][0]
    reader = _readers.by_engine[engine]
    if engine.dialect.name == "postgresql":
        with engine.connect() as other:
            pid = reader.connection.dbapi_connection.info.backend_pid
            assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    else:
        reader.connection.dbapi_connection.close()
    _insert_plan_elsewhere(engine, "断线后的计划")
    assert _seen(engine, before + 1)
    assert _readers.by_engine[engine] is not reader
