"""Instruments under verification, rigs, procedure versions, runs and their chained records."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labs.accounts.models import Enterprise, User
from labs.chain import Chained
from labs.db import Base, UTCDateTime, utcnow

INSTRUMENT_KINDS = ("fuel_dispenser", "electricity_meter", "taxi_meter")
RIG_KINDS = ("fdr", "emb", "tmr")
RUN_STATES = ("queued", "running", "done", "failed", "cancelled")


class VerifiedInstrument(Base):
    """An enterprise's instrument that the bureau verifies (not a lab's own equipment)."""

    __tablename__ = "verified_instruments"
    __table_args__ = (UniqueConstraint("kind", "serial_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    serial_number: Mapped[str] = mapped_column(String(64))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    model: Mapped[str] = mapped_column(String(100), default="")
    manufacturer: Mapped[str] = mapped_column(String(200), default="")
    nameplate: Mapped[dict] = mapped_column(JSON)
    location: Mapped[str] = mapped_column(String(300), default="")
    plate_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    next_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    enterprise: Mapped[Enterprise] = relationship()


class Rig(Base):
    """A calibration rig: how to reach it, who it must say it is, and its reference standard."""

    __tablename__ = "rigs"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    link: Mapped[str] = mapped_column(String(300))
    serial_number: Mapped[str] = mapped_column(String(64))
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("labs.id"), nullable=True, index=True)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)  # only the lab's own technicians
    portable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # carried to sites
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # e.g. the reference meter's constant
    standard_name: Mapped[str] = mapped_column(String(200), default="")
    standard_certificate_no: Mapped[str] = mapped_column(String(64))
    standard_valid_until: Mapped[dt.date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The runner that drives the rig now, until when (renewed while it runs; a dead runner's lapses).
    leased_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Procedure(Base):
    """One version of a verification regulation, as data; results keep the version they used."""

    __tablename__ = "procedures"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    instrument_kind: Mapped[str] = mapped_column(String(20))
    rig_kind: Mapped[str] = mapped_column(String(8))
    in_force: Mapped[bool] = mapped_column(Boolean, default=True)
    data: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def name(self) -> str:
        return f"{self.code}-{self.version}"


class Verification(Base):
    """A run: a state machine in the database, so a runner that dies resumes where it stopped."""

    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("verified_instruments.id"), index=True)
    rig_id: Mapped[int] = mapped_column(ForeignKey("rigs.id"), index=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    nozzle: Mapped[int | None] = mapped_column(Integer, nullable=True)
    state: Mapped[str] = mapped_column(String(12), default="queued", index=True)
    plan: Mapped[list] = mapped_column(JSON)  # the points, fixed when the run was asked for
    problem: Mapped[str | None] = mapped_column(Text, nullable=True)  # why it failed or stalled
    live: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # the latest values, for the console
    as_found_id: Mapped[int | None] = mapped_column(ForeignKey("verifications.id"), nullable=True)
    adjustment: Mapped[str | None] = mapped_column(String(500), nullable=True)
    seal_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    instrument: Mapped[VerifiedInstrument] = relationship()
    rig: Mapped[Rig] = relationship()
    procedure: Mapped[Procedure] = relationship()
    technician: Mapped[User | None] = relationship()


class Reading(Chained, Base):
    """What the rig reported for one repetition of one point, stored the moment it arrived."""

    __tablename__ = "readings"
    chain_fields = ("verification_id", "point_index", "values", "problem", "manual", "at")

    id: Mapped[int] = mapped_column(primary_key=True)
    verification_id: Mapped[int] = mapped_column(ForeignKey("verifications.id"), index=True)
    point_index: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict] = mapped_column(JSON)  # named as in the rig's register map or line protocol
    problem: Mapped[str | None] = mapped_column(String(300), nullable=True)  # why it does not count
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Result(Chained, Base):
    """The errors per point and the verdict, with the procedure version that produced them."""

    __tablename__ = "verification_results"
    chain_fields = ("verification_id", "procedure_id", "procedure_name", "evaluation", "verdict",
                    "verified_on", "next_due", "at")

    id: Mapped[int] = mapped_column(primary_key=True)
    verification_id: Mapped[int] = mapped_column(ForeignKey("verifications.id"), unique=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"))
    procedure_name: Mapped[str] = mapped_column(String(70))
    evaluation: Mapped[dict] = mapped_column(JSON)
    verdict: Mapped[str] = mapped_column(String(4))
    verified_on: Mapped[dt.date] = mapped_column(Date)
    next_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    verification: Mapped[Verification] = relationship()


class Certificate(Chained, Base):
    """A verification certificate (pass) or notice of failure: what anyone may confirm by number."""

    __tablename__ = "certificates"
    chain_fields = ("number", "result_id", "kind", "issued_on", "valid_until", "public", "at")

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("verification_results.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # certificate | failure_notice
    issued_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    public: Mapped[dict] = mapped_column(JSON)  # the particulars the public page shows, nothing private
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    result: Mapped[Result] = relationship()


class CertificateBlock(Base):
    """Certificate numbers reserved for a technician's laptop, which issues them on site with no
    network (labs.field). The server reserves blocks for its laptops (`here` false); a laptop's own
    database holds its blocks with `here` true, and numbers its certificates from them."""

    __tablename__ = "certificate_blocks"
    __table_args__ = (UniqueConstraint("year", "first"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    first: Mapped[int] = mapped_column(Integer)
    last: Mapped[int] = mapped_column(Integer)
    device_key: Mapped[str] = mapped_column(String(36), index=True)
    here: Mapped[bool] = mapped_column(Boolean, default=False)
    reserved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
