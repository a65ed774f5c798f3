"""Hash chains for legally relevant records (readings, results, certificates, ...).

Each chained row carries `hash` = SHA-256(previous row's hash + the row's canonical content) and
`prev_hash`. A row changed, deleted or moved behind the service's back breaks the chain where it
was, and `labs audit verify` names that row. Rows are sealed before they are inserted, so the
tables can refuse every UPDATE and DELETE (triggers, see the migrations).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

GENESIS = "0" * 64
_CHAINED: list[type] = []


class Chained:
    """Mixin of a chained table; `chain_fields` lists the columns the hash covers."""

    chain_fields: tuple[str, ...] = ()
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if getattr(cls, "__tablename__", None):
            _CHAINED.append(cls)


def chained_tables() -> tuple[str, ...]:
    """The names of the chained tables of the models imported so far."""
    return tuple(cls.__tablename__ for cls in _CHAINED)


def _plain(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, (dt.date, Decimal)):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return value


def canonical(row: Chained) -> bytes:
    """The row's content as it is stored: sorted keys, no spaces, UTF-8."""
    content = {name: _plain(getattr(row, name)) for name in row.chain_fields}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_plain).encode()


def _digest(prev_hash: str, row: Chained) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(row)).hexdigest()


def append(session: Session, row: Chained) -> Chained:
    """Seal `row` onto the end of its table's chain and add it (flushed, so it has its id).

    Appends to one chain are serialised: SQLite's BEGIN IMMEDIATE already holds the write lock; on
    PostgreSQL a transaction-scoped advisory lock per table does, so two runners never both read
    the same last hash.
    """
    cls = type(row)
    lock(session, cls)
    last = session.scalar(select(cls.hash).order_by(cls.id.desc()).limit(1))
    row.prev_hash = last or GENESIS
    row.hash = _digest(row.prev_hash, row)
    session.add(row)
    session.flush()
    return row


def lock(session: Session, cls: type) -> None:
    """Hold the append lock of `cls`'s chain until the transaction ends (re-entrant)."""
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"chain:{cls.__tablename__}".encode())
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


@dataclass(frozen=True)
class Break:
    table: str
    row_id: int
    why: str

    def __str__(self) -> str:
        return f"{self.table} row {self.row_id}: {self.why}"


def verify(session: Session) -> tuple[dict[str, int], list[Break]]:
    """Re-walk every chain: rows checked per table, and the first break of each broken chain."""
    counts, breaks = {}, []
    for cls in _CHAINED:
        expected_prev, n = GENESIS, 0
        for row in session.scalars(select(cls).order_by(cls.id).execution_options(yield_per=1000)):
            n += 1
            if row.prev_hash != expected_prev:
                breaks.append(Break(cls.__tablename__, row.id, "it does not follow the row before it: "
                                    "a row was deleted or the rows were reordered"))
                break
            if _digest(row.prev_hash, row) != row.hash:
                breaks.append(Break(cls.__tablename__, row.id, "its content was changed"))
                break
            expected_prev = row.hash
        counts[cls.__tablename__] = n
        session.expunge_all()
    return counts, breaks
