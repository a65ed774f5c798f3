"""Work orders, the technicians and portable rigs assigned to them, and staffed weekend days."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Column, Date, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labs.accounts.models import Enterprise, User
from labs.db import Base, UTCDateTime, utcnow
from labs.verification.models import Rig, VerifiedInstrument

work_order_instruments = Table(
    "work_order_instruments", Base.metadata,
    Column("work_order_id", ForeignKey("work_orders.id", ondelete="CASCADE"), primary_key=True),
    Column("instrument_id", ForeignKey("verified_instruments.id"), primary_key=True),
)


class StaffedWeekendDay(Base):
    """A Saturday or Sunday on which the bureau's technicians work (双休日检定): declared by staff;
    work orders on any other weekend day off are refused."""

    __tablename__ = "staffed_weekend_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    declared_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)  # None: the system
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkOrder(Base):
    """One site's instruments verified on one day (上门检定), by the technicians and with the rigs
    assigned to it. `day` is the local date of the span [starts_at, ends_at)."""

    __tablename__ = "work_orders"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_starts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    # The verification request (labs.services) this work order carries out, if it came from one.
    service_request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"), nullable=True,
                                                           index=True)
    site: Mapped[str] = mapped_column(String(300))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(12), default="planned")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    enterprise: Mapped[Enterprise] = relationship()
    instruments: Mapped[list[VerifiedInstrument]] = relationship(
        secondary=work_order_instruments, order_by="(VerifiedInstrument.kind, VerifiedInstrument.serial_number)")
    assignments: Mapped[list[Assignment]] = relationship(back_populates="work_order", order_by="Assignment.id")

    @property
    def technicians(self) -> list[User]:
        return [a.technician for a in self.assignments if a.active and a.technician_id is not None]

    @property
    def rigs(self) -> list[Rig]:
        return [a.rig for a in self.assignments if a.active and a.rig_id is not None]


class Assignment(Base):
    """A technician or a portable rig held by a work order for its span. No two active rows of one
    technician, or of one rig, overlap (labs.exclusive: PostgreSQL's exclusion constraints, see
    migration 0012; SQLite's BEGIN IMMEDIATE). Taken off the work order, or with it cancelled, a
    row stays as a record with `active` false."""

    __tablename__ = "work_order_assignments"
    __table_args__ = (
        CheckConstraint("(technician_id IS NULL) <> (rig_id IS NULL)", name="technician_or_rig"),
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        Index("ix_work_order_assignments_technician_start", "technician_id", "starts_at"),
        Index("ix_work_order_assignments_rig_start", "rig_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    rig_id: Mapped[int | None] = mapped_column(ForeignKey("rigs.id"), nullable=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    work_order: Mapped[WorkOrder] = relationship(back_populates="assignments")
    technician: Mapped[User | None] = relationship(foreign_keys=[technician_id])
    rig: Mapped[Rig | None] = relationship()
