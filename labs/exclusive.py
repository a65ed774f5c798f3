"""Rows that hold something over a span of time — a lab's bay, a technician, a portable rig — of
which no two active ones may overlap. The database enforces it, one mechanism for every holder:

- PostgreSQL: an exclusion constraint on `tstzrange(starts_at, ends_at, '[)')` with btree_gist
  (see the migrations), so back-to-back spans pass. The insert of a transaction that lost a race
  fails with SQLSTATE 23P01; `insert_exclusive` turns that into False, for a 409 naming what is
  in the way.
- SQLite has no such constraint: every write transaction begins with BEGIN IMMEDIATE (labs.db), so
  the caller's look for overlapping rows and its insert run with no other writer in between.

Callers look first (`overlapping`), for a clear answer and on SQLite for correctness, then insert
with `insert_exclusive`, which on PostgreSQL is what decides.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

EXCLUSION_VIOLATION = "23P01"  # PostgreSQL's SQLSTATE for a row an exclusion constraint refused


def overlapping(starts_at, ends_at, start: dt.datetime, end: dt.datetime):
    """The SQL condition: a row's [starts_at, ends_at) meets [start, end)."""
    return and_(starts_at < end, ends_at > start)


def is_exclusion_violation(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == EXCLUSION_VIOLATION


def insert_exclusive(session: Session, row) -> bool:
    """Insert `row` in a savepoint. False when an exclusion constraint refused it because a
    concurrent transaction holds the span: the savepoint is rolled back (the row is discarded) and
    the caller's transaction goes on. Any other integrity error is raised."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        if not is_exclusion_violation(exc):
            raise
        return False
    return True
