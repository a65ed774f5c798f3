"""Verification requests, their clock (pauses), their chained steps, the services' deadlines, and the
taxi-meter queue."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labs.accounts.models import Enterprise
from labs.chain import Chained
from labs.db import Base, UTCDateTime, utcnow
from labs.verification.models import Certificate, VerifiedInstrument

MODES = ("at_lab", "on_site", "weekend", "pickup", "taxi_at_once")
REQUEST_STATES = ("requested", "accepted", "refused", "concluded")
PAUSE_REASONS = ("missing_documents", "enterprise_unavailable")
TICKET_STATES = ("waiting", "called", "running", "no_show")


class ServiceSetting(Base):
    """One service (a mode of verification) and its deadlines in working days."""

    __tablename__ = "service_settings"

    mode: Mapped[str] = mapped_column(String(20), primary_key=True)
    acceptance_days: Mapped[int] = mapped_column(Integer, default=1)
    conclusion_days: Mapped[int] = mapped_column(Integer, default=5)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceRequest(Base):
    """An enterprise's request to verify some of its registered instruments.

    The deadlines are dates in the lab's time zone, counted in working days from `submitted_on`
    with the service's days as they were at submission, moved by the working days of every pause.
    """

    __tablename__ = "service_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    mode: Mapped[str] = mapped_column(String(20), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    preferred_dates: Mapped[list] = mapped_column(JSON, default=list)  # ISO dates, in the order preferred
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    missing_documents: Mapped[str] = mapped_column(Text, default="")
    commitment_signed: Mapped[bool] = mapped_column(Boolean, default=False)
    documents_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    state: Mapped[str] = mapped_column(String(12), default="requested", index=True)
    refusal_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    acceptance_days: Mapped[int] = mapped_column(Integer)
    conclusion_days: Mapped[int] = mapped_column(Integer)
    paused_days: Mapped[int] = mapped_column(Integer, default=0)  # working days of the ended pauses
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_on: Mapped[dt.date] = mapped_column(Date, index=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    concluded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    concluded_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    enterprise: Mapped[Enterprise] = relationship()
    items: Mapped[list[RequestInstrument]] = relationship(back_populates="request", order_by="RequestInstrument.id")
    pauses: Mapped[list[Pause]] = relationship(back_populates="request", order_by="Pause.id")


class RequestInstrument(Base):
    """One instrument of a request, and the certificate or failure notice that settled it."""

    __tablename__ = "service_request_instruments"
    __table_args__ = (UniqueConstraint("request_id", "instrument_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"), index=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("verified_instruments.id"), index=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), nullable=True)

    request: Mapped[ServiceRequest] = relationship(back_populates="items")
    instrument: Mapped[VerifiedInstrument] = relationship()
    certificate: Mapped[Certificate | None] = relationship()


class Pause(Base):
    """The clock stopped while waiting for the enterprise: from when, until when, why, by whom."""

    __tablename__ = "service_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"), index=True)
    reason: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(String(500), default="")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_on: Mapped[dt.date] = mapped_column(Date)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)  # None: the service
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    working_days: Mapped[int | None] = mapped_column(Integer, nullable=True)

    request: Mapped[ServiceRequest] = relationship(back_populates="pauses")


class Step(Chained, Base):
    """One step of a request as the requester sees it: what happened, when, and who acted."""

    __tablename__ = "service_steps"
    chain_fields = ("request_id", "kind", "actor_id", "actor_name", "detail", "at")

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    actor_name: Mapped[str] = mapped_column(String(200))  # as it was then; empty for the service itself
    detail: Mapped[dict] = mapped_column(JSON)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class TaxiTicket(Base):
    """A number taken at the verification station by a taxi driver waiting for their meter."""

    __tablename__ = "taxi_tickets"
    __table_args__ = (UniqueConstraint("day", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    number: Mapped[int] = mapped_column(Integer)
    token: Mapped[str] = mapped_column(String(64), unique=True)  # the ticket link's secret
    plate_number: Mapped[str] = mapped_column(String(20))
    meter_serial: Mapped[str] = mapped_column(String(64))
    address_hash: Mapped[str] = mapped_column(String(64), index=True)  # the client's, for rate limits
    state: Mapped[str] = mapped_column(String(12), default="waiting", index=True)
    instrument_id: Mapped[int | None] = mapped_column(ForeignKey("verified_instruments.id"), nullable=True)
    verification_id: Mapped[int | None] = mapped_column(ForeignKey("verifications.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    called_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    called_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
