"""Spot-check registries (entities, their instruments, inspectors), plans, draws and tasks."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labs.chain import Chained
from labs.db import Base, UTCDateTime, utcnow

RISK_LEVELS = ("high", "medium", "low")
ENTITY_KINDS = ("fuel_station", "taxi_company", "power_supplier")
INSTRUMENT_KINDS = ("fuel_dispenser", "electricity_meter", "taxi_meter")
PLAN_STATES = ("open", "frozen", "drawn", "stopped")  # stopped: a reveal did not match its commitment


class Region(Base):
    """An administrative division the bureau's registry knows (GB/T 2260 code)."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class RegistryEntity(Base):
    """A legal entity that may be checked, by its unified social credit code."""

    __tablename__ = "registry_entities"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), index=True)  # fuel station, taxi company, power supplier, ...
    region: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    risk_level: Mapped[str] = mapped_column(String(8))
    affiliation: Mapped[str] = mapped_column(String(200), default="")  # its group or supervising body


class RegistryInstrument(Base):
    """A measuring instrument of a registry entity (a dispenser's nozzle, a meter, a taxi meter)."""

    __tablename__ = "registry_instruments"
    __table_args__ = (UniqueConstraint("entity_id", "kind", "serial_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("registry_entities.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # fuel_dispenser | electricity_meter | taxi_meter
    serial_number: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(200), default="")  # e.g. 3 号岛 2 号枪, household address


class RegistryInspector(Base):
    """An inspector who may be drawn: qualified instrument kinds, affiliation, declared conflicts."""

    __tablename__ = "registry_inspectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # Kept when no user has it yet; identifies the inspector in the registry when given.
    email: Mapped[str | None] = mapped_column(String(254), nullable=True, unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, unique=True)
    qualifications: Mapped[list] = mapped_column(JSON)  # instrument kinds
    affiliation: Mapped[str] = mapped_column(String(200))
    conflicts: Mapped[list] = mapped_column(JSON, default=list)  # credit codes declared


class Plan(Base):
    __tablename__ = "spotcheck_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    instrument_kind: Mapped[str] = mapped_column(String(20))
    regions: Mapped[list] = mapped_column(JSON)  # region codes in scope
    entity_kinds: Mapped[list] = mapped_column(JSON)
    shares: Mapped[dict] = mapped_column(JSON)  # risk level -> share to draw, as a decimal string
    inspectors_per_task: Mapped[int] = mapped_column(Integer, default=2)
    instruments_per_entity: Mapped[int] = mapped_column(Integer, default=1)
    draw_date: Mapped[dt.date] = mapped_column(Date)
    publication_working_days: Mapped[int] = mapped_column(Integer, default=20)
    previous_plan_id: Mapped[int | None] = mapped_column(ForeignKey("spotcheck_plans.id"), nullable=True)
    state: Mapped[str] = mapped_column(String(8), default="open")
    # The frozen scope and the draw can hold a province's million credit codes: loaded only when read.
    snapshot: Mapped[dict | None] = mapped_column(JSON, nullable=True, deferred=True)  # risk level -> sorted codes
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seed: Mapped[str | None] = mapped_column(String(64), nullable=True)
    selection: Mapped[dict | None] = mapped_column(JSON, nullable=True, deferred=True)  # the draw, in order, with skips
    frozen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    drawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    witnesses: Mapped[list[Witness]] = relationship(order_by="Witness.position", cascade="all, delete-orphan")


class Witness(Base):
    """A witness of the draw: the commitment published before it, the secret revealed after the freeze."""

    __tablename__ = "spotcheck_witnesses"
    __table_args__ = (UniqueConstraint("plan_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_plans.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the published order, from 1
    name: Mapped[str] = mapped_column(String(100))  # e.g. the discipline officer, an observer for enterprises
    commitment: Mapped[str] = mapped_column(String(64))
    secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    committed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revealed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Task(Base):
    """An entity drawn (or nominated) in a plan, with its inspectors and instruments."""

    __tablename__ = "spotcheck_tasks"
    __table_args__ = (UniqueConstraint("plan_id", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_plans.id"), index=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("registry_entities.id"), index=True)
    origin: Mapped[str] = mapped_column(String(10))  # drawn | nominated
    inspector_ids: Mapped[list] = mapped_column(JSON)
    due_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    concluded_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    publish_by: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    entity: Mapped[RegistryEntity] = relationship()
    plan: Mapped[Plan] = relationship()
    instruments: Mapped[list[TaskInstrument]] = relationship(order_by="TaskInstrument.id", back_populates="task")


class TaskInstrument(Base):
    """An instrument checked in a task: the verification run that measured it, the first inspector's
    conclusion and the second's countersignature, and the follow-up a failure opens."""

    __tablename__ = "spotcheck_task_instruments"
    __table_args__ = (UniqueConstraint("task_id", "instrument_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_tasks.id"), index=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("registry_instruments.id"))
    verification_id: Mapped[int | None] = mapped_column(ForeignKey("verifications.id"), nullable=True)
    conclusion: Mapped[str | None] = mapped_column(String(4), nullable=True)  # pass | fail
    conclusion_note: Mapped[str] = mapped_column(String(1000), default="")
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    countersigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    countersigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rectify_by: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # a failure's follow-up
    out_of_use: Mapped[bool] = mapped_column(Boolean, default=False)  # until it passes re-verification

    task: Mapped[Task] = relationship(back_populates="instruments")
    instrument: Mapped[RegistryInstrument] = relationship()


class Nomination(Base):
    """你点我查: a member of the public nominates an instrument. A person counts once per instrument:
    the phone number is kept only as a keyed hash."""

    __tablename__ = "spotcheck_nominations"
    __table_args__ = (UniqueConstraint("instrument_id", "phone_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("registry_instruments.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    phone_hash: Mapped[str] = mapped_column(String(64))
    address_hash: Mapped[str] = mapped_column(String(64), index=True)  # the client's, for rate limits
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("spotcheck_plans.id"), nullable=True)  # taken into

    instrument: Mapped[RegistryInstrument] = relationship()


class PublishedResult(Chained, Base):
    """A task's result as published (一公开): chained, so a published result cannot be quietly changed."""

    __tablename__ = "spotcheck_published_results"
    chain_fields = ("task_id", "plan_id", "content", "published_on", "at")

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_tasks.id"), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("spotcheck_plans.id"), index=True)
    content: Mapped[dict] = mapped_column(JSON)  # entity, instruments, verdicts, measured errors, dates
    published_on: Mapped[dt.date] = mapped_column(Date, index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CreditExport(Base):
    """The week's concluded results as written for the national enterprise credit publicity system;
    one per ISO week (a second run of the job finds it and writes nothing)."""

    __tablename__ = "spotcheck_credit_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(8), unique=True)  # e.g. 2026-W48
    csv_path: Mapped[str] = mapped_column(String(500))
    json_path: Mapped[str] = mapped_column(String(500))
    rows: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegistryImport(Base):
    """A CSV file uploaded for one of the registries, imported by `labs scheduler` (a job row, so
    a web worker never holds a request for the minutes a province's file takes): queued, running
    (validating, then writing), done or refused with its report of bad rows."""

    __tablename__ = "registry_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # entities | instruments | inspectors
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # emptied once imported or refused
    size_bytes: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default="queued", index=True)  # queued|running|done|refused|failed
    phase: Mapped[str] = mapped_column(String(10), default="")  # validating | writing, while running
    bytes_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[list] = mapped_column(JSON, default=list)  # [line, reason, field, value, detail], the first ones
    error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
