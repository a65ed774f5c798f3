"""Spot-check registries (entities, their instruments, inspectors), plans, draws and tasks."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labs.db import Base, UTCDateTime, utcnow

RISK_LEVELS = ("high", "medium", "low")
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
    snapshot: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # risk level -> sorted credit codes
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seed: Mapped[str | None] = mapped_column(String(64), nullable=True)
    selection: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # the draw, in order, with skips
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
    instrument_ids: Mapped[list] = mapped_column(JSON)  # registry instruments
    due_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    concluded_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    publish_by: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    entity: Mapped[RegistryEntity] = relationship()
    plan: Mapped[Plan] = relationship()


