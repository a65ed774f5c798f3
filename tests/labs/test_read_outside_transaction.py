"""labs.db.read_outside_transaction: the check in front of a cached public answer. It must see every
commit made elsewhere at once, and survive a connection the server dropped."""
from __future__ import annotations

from sqlalchemy import func, select, text

from labs.spotchecks.models import Region
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
    connection, _ = _readers.by_engine[engine]
    if engine.dialect.name == "postgresql":
        with engine.connect() as other:  # as a restarted server or an administrator would
            pid = connection.dbapi_connection.info.backend_pid
            assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    else:
        connection.dbapi_connection.close()
    _add_region(app, "990103")
    assert read_outside_transaction(engine, COUNT)[0][0] == before + 1
    assert _readers.by_engine[engine][0] is not connection
