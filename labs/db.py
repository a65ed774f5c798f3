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
from sqlalchemy.sql.util import find_tables
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


_readers = threading.local()  # per thread: {engine: _Reader}

# PostgreSQL tells listeners of a change to a table that carries the trigger below (migration 0017
# puts it on what the public pages show): a reader keeps its answers until a notice comes.
CHANGE_CHANNEL = "labs_change"
CHANGE_TRIGGER = "labs_change_notice"
_watched: frozenset[str] = frozenset()  # the tables with the trigger, as the readers found them
_local_commits = 0  # commits in this process that wrote a watched table (notices come a moment later)


@functools.lru_cache(maxsize=64)
def _sql(statement: Executable, dialect: Dialect) -> tuple[str, frozenset[str]]:
    tables = frozenset(t.name for t in find_tables(statement, include_crud=True))
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})), tables


class _Reader:
    """A thread's own connection, taken out of the pool (it never holds a slot the sessions need),
    in autocommit, and the answers it read with the state of the database they hold for."""

    def __init__(self, engine: Engine):
        pooled = engine.raw_connection()
        pooled.detach()
        self.connection, self.known, self.dialect = pooled, {}, engine.dialect.name
        self.notices, self.watched = 0, frozenset()
        if self.dialect == "postgresql":
            raw = pooled.dbapi_connection
            raw.autocommit = True
            raw.execute(f"LISTEN {CHANGE_CHANNEL}")
            self.watched = frozenset(row[0] for row in raw.execute(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = %s",
                (CHANGE_TRIGGER,)))
            global _watched
            _watched = _watched | self.watched

    def state(self, tables: frozenset[str]):
        """What says whether a kept answer still holds, or None where nothing can say it. SQLite: its
        data version (this connection never writes, so any commit counts). PostgreSQL, for watched
        tables only: the notices received so far (read off the socket without a round trip) and
        this process's own commits, which do not wait for theirs."""
        if self.dialect == "sqlite":
            cursor = self.connection.cursor()
            try:
                cursor.execute("PRAGMA data_version")
                return cursor.fetchone()[0]
            finally:
                cursor.close()
        if not tables or not tables <= self.watched:
            return None
        from psycopg.pq import ConnStatus  # PostgreSQL's driver, only where PostgreSQL is used
        pgconn = self.connection.dbapi_connection.pgconn
        pgconn.consume_input()  # what has arrived; libpq's socket never blocks
        if pgconn.status != ConnStatus.OK:  # the server went away: no notice would ever come
            raise self.connection.dbapi_connection.OperationalError("the change notices' connection is lost")
        while pgconn.notifies() is not None:
            self.notices += 1
        return self.notices, _local_commits

    def read(self, sql: str, tables: frozenset[str]) -> list[tuple[Any, ...]]:
        state = self.state(tables)
        if state is not None and sql in self.known and self.known[sql][0] == state:
            return self.known[sql][1]
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
            rows = [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()
        if state is not None:
            self.known[sql] = (state, rows)
        return rows


def read_outside_transaction(engine: Engine, statement: Executable) -> list[tuple[Any, ...]]:
    """The raw rows of one read-only statement (a module-level constant: its SQL is compiled once),
    on a connection of the calling thread's own, in autocommit: for the checks in front of a cached
    public answer, where a unit of work (a session and a transaction, BEGIN IMMEDIATE on SQLite)
    would cost more than everything else in the request.

    The answer is kept while the database says nothing changed (see _Reader.state): a flood of
    readers between two publications reads nothing at all. A broken connection (a restarted
    server) is replaced, once, at once; notices lost with it do not matter, the new one starts empty."""
    sql, tables = _sql(statement, engine.dialect)
    readers = getattr(_readers, "by_engine", None)
    if readers is None:
        readers = _readers.by_engine = weakref.WeakKeyDictionary()
    for attempt in (1, 2):
        try:
            reader = readers.get(engine)
            if reader is None:
                reader = readers[engine] = _Reader(engine)
            return reader.read(sql, tables)
        except engine.dialect.dbapi.Error:
            readers.pop(engine, None)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@event.listens_for(Session, "after_flush")
def _note_watched_writes(session, _context):
    if _watched and any(obj.__table__.name in _watched for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info["labs.wrote_watched"] = True


@event.listens_for(Session, "after_commit")
def _count_watched_commits(session):
    global _local_commits
    if session.info.pop("labs.wrote_watched", False):
        _local_commits += 1  # a race between threads loses at worst a count another commit also made


@event.listens_for(Session, "after_rollback")
def _forget_watched_writes(session):
    session.info.pop("labs.wrote_watched", None)

