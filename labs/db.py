"""Engine, session and declarative base.

SQLite is the embedded default: WAL, foreign keys on, and every transaction begins with
BEGIN IMMEDIATE, because Python's sqlite3 would otherwise start it lazily after the first read and
two check-then-insert transactions could both pass their check. PostgreSQL forbids overlapping
bookings with an exclusion constraint instead (see migrations).
"""
from __future__ import annotations

import datetime as dt
import functools
import threading
import weakref
from contextlib import contextmanager
from typing import Any, Iterator

from flask import current_app, g
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.expression import Executable
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored in UTC; SQLite gives naive values back, so we re-attach UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def normalise_url(url: str) -> str:
    """postgresql:// means psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin_immediate(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def init_app(app) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["labs.engine"] = engine
    app.extensions["labs.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def get_session() -> Session:
    """The request's unit of work; closed (rolled back if uncommitted) at teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["labs.sessionmaker"]()
    return g.db_session


@contextmanager
def session_scope(app) -> Iterator[Session]:
    """A unit of work outside a request (CLI, jobs): commit on success, roll back on error."""
    session = app.extensions["labs.sessionmaker"]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_readers = threading.local()  # per thread: {engine: (DBAPI connection, {sql: (data version, rows)})}


@functools.lru_cache(maxsize=64)
def _sql(statement: Executable, dialect: Dialect) -> str:
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def read_outside_transaction(engine: Engine, statement: Executable) -> list[tuple[Any, ...]]:
    """The raw rows of one read-only statement (a module-level constant: its SQL is compiled once),
    on a connection of the calling thread's own, in autocommit: for the checks in front of a cached
    public answer, where a unit of work (a session and a transaction, BEGIN IMMEDIATE on SQLite)
    would cost more than everything else in the request.

    On SQLite the answer is kept until `PRAGMA data_version` says another connection committed
    something (this one never writes, so any commit counts): a flood of readers between two
    publications reads nothing at all. The connection is taken out of the pool, so it never holds a
    slot the sessions need; a broken one (a restarted server) is replaced, once, at once."""
    sql = _sql(statement, engine.dialect)
    readers = getattr(_readers, "by_engine", None)
    if readers is None:
        readers = _readers.by_engine = weakref.WeakKeyDictionary()
    for attempt in (1, 2):
        try:
            return _read(engine, readers, sql)
        except engine.dialect.dbapi.Error:
            readers.pop(engine, None)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _read(engine: Engine, readers: weakref.WeakKeyDictionary, sql: str) -> list[tuple[Any, ...]]:
    entry = readers.get(engine)
    if entry is None:
        pooled = engine.raw_connection()
        if engine.dialect.name == "postgresql":
            pooled.dbapi_connection.autocommit = True
        pooled.detach()
        entry = readers[engine] = (pooled, {})
    connection, known = entry
    cursor = connection.cursor()
    try:
        version = None
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA data_version")
            version = cursor.fetchone()[0]
            if sql in known and known[sql][0] == version:
                return known[sql][1]
        cursor.execute(sql)
        rows = [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()
    known[sql] = (version, rows)
    return rows
