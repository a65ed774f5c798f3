"""The audit log: every state change, with who, when, what, and the record before and after."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from labs.db import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"
    # A record's own trail (a booking's timeline, a lab's past opening hours) is read by entity.
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int] = mapped_column(Integer)
    before: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict | None] = mapped_column(JSON, nullable=True)


def record(session: Session, actor_id: int | None, action: str, entity: str, entity_id: int,
           before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    session.add(AuditEntry(actor_id=actor_id, action=action, entity=entity, entity_id=entity_id,
                           before=before, after=after))


def snapshot(obj, fields: tuple[str, ...]) -> dict[str, Any]:
    """A JSON-safe picture of selected attributes, for before/after."""
    out = {}
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, (dt.datetime, dt.date, dt.time)):
            value = value.isoformat()
        elif hasattr(value, "as_tuple"):  # Decimal
            value = str(value)
        out[name] = value
    return out
