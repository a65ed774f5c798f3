from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, Column, Date, ForeignKey, Index, Integer, Numeric, String, Table,
                        Time, false, true)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labs.accounts.models import User
from labs.db import Base, UTCDateTime

lab_managers = Table(
    "lab_managers", Base.metadata,
    Column("lab_id", ForeignKey("labs.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)
# The technicians who work in a lab (a lab may keep its rigs to them).
lab_technicians = Table(
    "lab_technicians", Base.metadata,
    Column("lab_id", ForeignKey("labs.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Lab(Base):
    __tablename__ = "labs"
    __table_args__ = (CheckConstraint("bays >= 1", name="bays_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    discipline: Mapped[str] = mapped_column(String(100))
    location: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    bays: Mapped[int] = mapped_column(Integer, default=1)
    public_benefit: Mapped[bool] = mapped_column(Boolean, default=False)
    fee_per_hour: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    fee_per_batch: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    # "instant" (单件即时签批) or "manager"
    approval_mode: Mapped[str] = mapped_column(String(10), default="manager")
    approval_deadline_days: Mapped[int] = mapped_column(Integer, default=3)
    document_deadline_days: Mapped[int] = mapped_column(Integer, default=5)
    min_duration_minutes: Mapped[int] = mapped_column(Integer, default=30)
    max_duration_minutes: Mapped[int] = mapped_column(Integer, default=8 * 60)
    max_advance_days: Mapped[int] = mapped_column(Integer, default=90)
    # Bookings start and end on this grid of local time (minutes from midnight).
    slot_step_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # Booked hours one enterprise may hold in the lab per local week (active bookings); None: no limit.
    max_weekly_hours_per_enterprise: Mapped[int | None] = mapped_column(Integer, nullable=True)
    calendar_token: Mapped[str] = mapped_column(String(64), unique=True)

    hours: Mapped[list[OpeningHours]] = relationship(
        cascade="all, delete-orphan", order_by="(OpeningHours.weekday, OpeningHours.opens)")
    closures: Mapped[list[Closure]] = relationship(cascade="all, delete-orphan", order_by="Closure.starts_at")
    # The instruments in service: a retired one stays on record (bookings name it) but is offered no more.
    instruments: Mapped[list[Instrument]] = relationship(
        cascade="all, delete-orphan", order_by="Instrument.code",
        primaryjoin="and_(Lab.id == Instrument.lab_id, Instrument.retired_on.is_(None))")
    managers: Mapped[list[User]] = relationship(secondary=lab_managers)
    technicians: Mapped[list[User]] = relationship(secondary=lab_technicians)

    @hybrid_method
    def managed_by(self, actor) -> bool:
        """Who manages a lab: an administrator every lab, a lab manager the labs assigned to them.
        On the class it is the same rule as a SQL condition: `select(Lab).where(Lab.managed_by(actor))`."""
        return actor.role == "admin" or (actor.role == "lab_manager" and actor in self.managers)

    @managed_by.expression
    def managed_by(cls, actor):
        if actor.role == "admin":
            return true()
        return cls.managers.contains(actor) if actor.role == "lab_manager" else false()

    @hybrid_method
    def staffed_by(self, actor) -> bool:
        """Whose work a lab's bookings are: its managers' (Lab.managed_by) and its technicians'.
        On the class, the same rule as a SQL condition."""
        return self.managed_by(actor) or (actor.role == "technician" and actor in self.technicians)

    @staffed_by.expression
    def staffed_by(cls, actor):
        if actor.role == "technician":
            return cls.technicians.contains(actor)
        return cls.managed_by(actor)


class OpeningHours(Base):
    """Opening hours on a weekday (0 = Monday). Rows for Saturday/Sunday are weekend service days."""

    __tablename__ = "opening_hours"
    __table_args__ = (CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
                      CheckConstraint("closes > opens", name="closes_after_opens"))

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    opens: Mapped[dt.time] = mapped_column(Time)
    closes: Mapped[dt.time] = mapped_column(Time)


class Closure(Base):
    """The lab is closed for maintenance or a holiday of its own."""

    __tablename__ = "closures"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_starts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200))


class Instrument(Base):
    __tablename__ = "instruments"
    __table_args__ = (Index("uq_instruments_lab_id_code", "lab_id", "code", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    certificate_no: Mapped[str] = mapped_column(String(64), default="")
    calibration_valid_until: Mapped[dt.date] = mapped_column(Date)
    # Retired instruments stay listed (bookings and certificates name them) but are not booked again.
    retired_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
