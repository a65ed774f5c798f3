"""The laptops that verify on site, the runs they uploaded, and the receipts of their chained rows."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labs.accounts.models import User
from labs.chain import Chained
from labs.db import Base, UTCDateTime, utcnow


class FieldDevice(Base):
    """A technician's laptop. On the server, one row per laptop that synced; in a laptop's own
    database, one row: itself, with the server it syncs with."""

    __tablename__ = "field_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(36), unique=True)  # a UUID the laptop made for itself
    technician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    server_url: Mapped[str | None] = mapped_column(String(300), nullable=True)  # set on the laptop only
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    technician: Mapped[User] = relationship()


class FieldRun(Base):
    """A verification run made on a laptop: its id there, and the run the server holds for it."""

    __tablename__ = "field_runs"
    __table_args__ = (UniqueConstraint("device_id", "local_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("field_devices.id"))
    local_id: Mapped[int] = mapped_column(Integer)
    verification_id: Mapped[int] = mapped_column(ForeignKey("verifications.id"), unique=True)


class FieldRecord(Chained, Base):
    """The receipt of one chained row a laptop uploaded: the row as the laptop sealed it (its content,
    its hash and the hash before it in the laptop's chain) and the row the server appended for it."""

    __tablename__ = "field_records"
    __table_args__ = (UniqueConstraint("device_id", "table_name", "local_id"),)
    chain_fields = ("device_id", "table_name", "local_id", "local_prev_hash", "local_hash", "content", "row_id", "at")

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("field_devices.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(40))
    local_id: Mapped[int] = mapped_column(Integer)
    local_prev_hash: Mapped[str] = mapped_column(String(64))
    local_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict] = mapped_column(JSON)  # the chained fields as the laptop hashed them
    row_id: Mapped[int] = mapped_column(Integer)  # the server's row in `table_name`
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
