from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (JSON, Boolean, CheckConstraint, Column, Date, ForeignKey, Index, Integer, Numeric,
                        String, Table, Text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labs.accounts.models import Enterprise, User
from labs.catalog.models import Instrument, Lab
from labs.db import Base, UTCDateTime, utcnow

booking_instruments = Table(
    "booking_instruments", Base.metadata,
    Column("booking_id", ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True),
    Column("instrument_id", ForeignKey("instruments.id"), primary_key=True),
)


class Booking(Base):
    """One reserved slot on one bay. On PostgreSQL an exclusion constraint (see migrations) forbids
    two active bookings overlapping on a bay; on SQLite, BEGIN IMMEDIATE serialises the check."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        CheckConstraint("batches >= 1", name="batches_positive"),
        Index("ix_bookings_lab_start", "lab_id", "starts_at"),
        Index("ix_bookings_enterprise_start", "enterprise_id", "starts_at"),
        Index("ix_bookings_status_due", "status", "approval_due"),
        Index("ix_bookings_enterprise_request_key", "enterprise_id", "request_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"))
    bay: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    series_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12))
    test_type: Mapped[str] = mapped_column(String(200))
    sample_description: Mapped[str] = mapped_column(Text)
    batches: Mapped[int] = mapped_column(Integer)
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(40))
    fee: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    approval_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    # Accept with missing documents (容缺受理): the enterprise signed a commitment to deliver these.
    missing_documents: Mapped[str] = mapped_column(Text, default="")
    commitment_signed: Mapped[bool] = mapped_column(Boolean, default=False)
    documents_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # Only the lab's confirmation that the documents arrived clears the deadline, not an upload.
    documents_received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    documents_received_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # The key of the form (or the API's Idempotency-Key) the request came with: a second post of the
    # same request returns what the first made.
    request_key: Mapped[str | None] = mapped_column(String(64), nullable=True)

    lab: Mapped[Lab] = relationship()
    enterprise: Mapped[Enterprise] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    instruments: Mapped[list[Instrument]] = relationship(secondary=booking_instruments)
    documents: Mapped[list[BookingDocument]] = relationship(order_by="BookingDocument.id", back_populates="booking")


class BookingDocument(Base):
    """A document the enterprise uploaded for its booking (容缺受理). The file lies under the document
    directory (LABS_DOCUMENT_DIR, default instance/documents) as `stored_as`, never in the database."""

    __tablename__ = "booking_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    filename: Mapped[str] = mapped_column(String(200))  # as the enterprise named it, for the download
    content_type: Mapped[str] = mapped_column(String(64))  # what the content was found to be
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_as: Mapped[str] = mapped_column(String(64), unique=True)

    booking: Mapped[Booking] = relationship(back_populates="documents")


class WaitlistEntry(Base):
    """A request for a slot that was taken; it gets the slot, first come first served, when freed."""

    __tablename__ = "waitlist"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    request: Mapped[dict] = mapped_column(JSON)  # the booking request as made, replayed on promotion
    status: Mapped[str] = mapped_column(String(12), default="waiting")  # waiting, promoted, withdrawn
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    lab: Mapped[Lab] = relationship()
