"""Verification use cases. Each takes a session (the unit of work) and the acting user and checks
authorization itself; the caller commits. The runner's side (readings, conclusion) is here too:
it acts as the rig's operator, not as a signed-in user."""
from __future__ import annotations

import datetime as dt
import os
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from devices.links import LinkError, parse_link
from labs import audit, chain
from labs.accounts.models import User
from labs.accounts.service import get_or_create_enterprise, require_role
from labs.catalog.models import Lab
from labs.db import utcnow
from labs.errors import Conflict, Forbidden, Invalid, NotFound
from labs.i18n import N_, Message
from labs.verification import domain, procedures
from labs.verification.models import (INSTRUMENT_KINDS, RIG_KINDS, Certificate, CertificateBlock, Procedure,
                                      Reading, Result, Rig, Verification, VerifiedInstrument)

STAFF = ("admin", "lab_manager", "technician", "inspector")
OPERATORS = ("admin", "lab_manager", "technician")  # who registers instruments and runs verifications
RUN_STATE_NAMES = {"queued": N_("queued"), "running": N_("running"), "done": N_("done"), "failed": N_("failed"),
                   "cancelled": N_("cancelled")}
VERDICT_NAMES = {"pass": N_("pass"), "fail": N_("fail")}
INSTRUMENT_KIND_NAMES = {"fuel_dispenser": N_("fuel dispenser"), "electricity_meter": N_("electricity meter"),
                         "taxi_meter": N_("taxi meter")}
ONE_OF = N_("must be one of %(choices)s")
NO_INSTRUMENT = N_("no instrument %(id)s")
RIG_EXISTS = N_("a rig with code %(code)s exists")
NO_CERTIFICATE = N_("no certificate or notice numbered %(number)s")
KIND_NAMES = {"fuel_dispenser": "燃油加油机", "electricity_meter": "电能表", "taxi_meter": "出租汽车计价器"}
CERTIFICATE_PREFIX = {"certificate": "JD", "failure_notice": "TZ"}  # 检定证书, 检定结果通知书
FIELD_NUMBERS_FROM = 900_000  # certificate numbers from here up are reserved in blocks for laptops on site
INSTRUMENT_FIELDS = ("kind", "serial_number", "enterprise_id", "model", "manufacturer", "nameplate", "location",
                     "plate_number", "next_due")
RIG_FIELDS = ("code", "kind", "link", "serial_number", "lab_id", "restricted", "portable", "settings", "standard_name",
              "standard_certificate_no", "standard_valid_until", "active")


def local_today(lab: Lab | None = None) -> dt.date:
    """Today where the rig stands: its lab's time zone, else the service's."""
    zone = lab.timezone if lab is not None else os.environ.get("LABS_TIMEZONE", "Asia/Shanghai")
    return dt.datetime.now(ZoneInfo(zone)).date()


# --- procedures -------------------------------------------------------------------------------

def sync_procedures(session: Session) -> int:
    """Load the procedure versions shipped with the package that the database lacks; never
    change a version already there (results refer to it). Returns how many were added."""
    have = {(code, version) for code, version in session.execute(select(Procedure.code, Procedure.version))}
    added = 0
    for doc in procedures.shipped():
        if (doc["code"], doc["version"]) not in have:
            session.add(_procedure_row(doc, None))
            added += 1
    session.flush()
    return added


def _procedure_row(doc: dict, actor_id: int | None) -> Procedure:
    return Procedure(code=doc["code"], version=doc["version"], title=doc["title"],
                     instrument_kind=doc["instrument_kind"], rig_kind=doc["rig_kind"],
                     in_force=bool(doc["in_force"]), data=doc, created_by=actor_id)


def list_procedures(session: Session, actor: User | None) -> list[Procedure]:
    require_role(actor, *STAFF, "enterprise")
    return list(session.scalars(select(Procedure).order_by(Procedure.code, Procedure.version)))


def get_procedure(session: Session, actor: User | None, procedure_id: int) -> Procedure:
    require_role(actor, *STAFF, "enterprise")
    procedure = session.get(Procedure, procedure_id)
    if procedure is None:
        raise NotFound(N_("no procedure %(id)s"), code="no_procedure", params={"id": procedure_id})
    return procedure


def add_procedure_version(session: Session, actor: User | None, document: dict) -> Procedure:
    """A corrected or new version; in force, it replaces the version in force of the same code.
    Results made under older versions keep theirs."""
    require_role(actor, "admin", "lab_manager")
    doc = procedures.validate(document)
    exists = session.scalar(select(Procedure.id).where(Procedure.code == doc["code"],
                                                       Procedure.version == doc["version"]))
    if exists is not None:
        raise Conflict(N_("%(name)s exists; give the corrected version a new version name"), code="procedure_exists",
                       params={"name": f"{doc['code']}-{doc['version']}"})
    if doc["in_force"]:
        for older in session.scalars(select(Procedure).where(Procedure.code == doc["code"], Procedure.in_force)):
            older.in_force = False
    procedure = _procedure_row(doc, actor.id)
    session.add(procedure)
    session.flush()
    audit.record(session, actor.id, "procedure.create", "procedure", procedure.id, None,
                 {"code": procedure.code, "version": procedure.version, "in_force": procedure.in_force})
    return procedure


def find_procedure(session: Session, name: str) -> Procedure:
    """`JJG 443` (the version in force) or `JJG 443-2006` (that version)."""
    code, _, version = name.rpartition("-") if "-" in name else (name, "", "")
    query = select(Procedure).where(Procedure.code == code, Procedure.version == version) if version else \
        select(Procedure).where(Procedure.code == name, Procedure.in_force)
    procedure = session.scalar(query.order_by(Procedure.id.desc()).limit(1))
    if procedure is None:
        raise NotFound(N_("no procedure %(name)s (give a code such as 'JJG 443' or a version such as 'JJG 443-2006')"),
                       code="no_procedure", params={"name": name[:60]})
    return procedure


# --- instruments under verification -------------------------------------------------------------

def _check_nameplate(kind: str, nameplate: dict) -> None:
    """The nameplate must carry what the procedures in force need: build a plan to find out."""
    errors = {}
    for doc in procedures.shipped():
        if doc["instrument_kind"] == kind and doc["in_force"]:
            try:
                domain.build_plan(doc, nameplate)
            except (ValueError, KeyError, TypeError, ArithmeticError, AttributeError, IndexError) as exc:
                errors.setdefault("nameplate", []).append(f"{doc['code']}-{doc['version']}: {exc}")
    if errors:
        raise Invalid(N_("the nameplate lacks what the procedure needs"), errors, code="nameplate_incomplete")


def register_instrument(session: Session, actor: User | None, data: dict) -> VerifiedInstrument:
    require_role(actor, *OPERATORS)
    if data["kind"] not in INSTRUMENT_KINDS:
        raise Invalid(N_("unknown instrument kind"), {"kind": [ONE_OF % {"choices": ", ".join(INSTRUMENT_KINDS)}]},
                      code="unknown_instrument_kind")
    _check_nameplate(data["kind"], data["nameplate"])
    enterprise = get_or_create_enterprise(session, data["owner_credit_code"], data.get("owner_name"))
    if session.scalar(select(VerifiedInstrument.id).where(VerifiedInstrument.kind == data["kind"],
                                                          VerifiedInstrument.serial_number == data["serial_number"])):
        raise Conflict(N_("a %(kind)s with serial number %(serial)s is registered"), code="instrument_registered",
                       params={"kind": data["kind"], "serial": data["serial_number"]})
    instrument = VerifiedInstrument(
        kind=data["kind"], serial_number=data["serial_number"], enterprise=enterprise,
        model=data.get("model", ""), manufacturer=data.get("manufacturer", ""), nameplate=data["nameplate"],
        location=data.get("location", ""), plate_number=data.get("plate_number"), next_due=data.get("next_due"))
    session.add(instrument)
    session.flush()
    audit.record(session, actor.id, "instrument.register", "verified_instrument", instrument.id, None,
                 audit.snapshot(instrument, INSTRUMENT_FIELDS))
    return instrument


def update_instrument(session: Session, actor: User | None, instrument_id: int, changes: dict) -> VerifiedInstrument:
    require_role(actor, *OPERATORS)
    instrument = get_instrument(session, actor, instrument_id)
    before = audit.snapshot(instrument, INSTRUMENT_FIELDS)
    if "owner_credit_code" in changes:
        instrument.enterprise = get_or_create_enterprise(session, changes["owner_credit_code"],
                                                         changes.get("owner_name"))
    if "nameplate" in changes:
        _check_nameplate(instrument.kind, changes["nameplate"])
    for name in ("model", "manufacturer", "nameplate", "location", "plate_number", "next_due"):
        if name in changes:
            setattr(instrument, name, changes[name])
    session.flush()
    audit.record(session, actor.id, "instrument.update", "verified_instrument", instrument.id, before,
                 audit.snapshot(instrument, INSTRUMENT_FIELDS))
    return instrument


def list_instruments(session: Session, actor: User | None, kind: str | None = None,
                     serial_number: str | None = None) -> list[VerifiedInstrument]:
    """Staff see every instrument; an enterprise only its own."""
    require_role(actor, *STAFF, "enterprise")
    query = select(VerifiedInstrument).options(selectinload(VerifiedInstrument.enterprise))
    if actor.role == "enterprise":
        query = query.where(VerifiedInstrument.enterprise_id == actor.enterprise_id)
    if kind:
        query = query.where(VerifiedInstrument.kind == kind)
    if serial_number:
        query = query.where(VerifiedInstrument.serial_number == serial_number)
    return list(session.scalars(query.order_by(VerifiedInstrument.id)))


def get_instrument(session: Session, actor: User | None, instrument_id: int) -> VerifiedInstrument:
    require_role(actor, *STAFF, "enterprise")
    instrument = session.get(VerifiedInstrument, instrument_id)
    # Another enterprise's instrument is not found, rather than forbidden: its existence is private too.
    if instrument is None or (actor.role == "enterprise" and instrument.enterprise_id != actor.enterprise_id):
        raise NotFound(NO_INSTRUMENT, code="no_instrument", params={"id": instrument_id})
    return instrument


def instrument_history(session: Session, actor: User | None, instrument_id: int) -> list[Result]:
    instrument = get_instrument(session, actor, instrument_id)
    return list(session.scalars(
        select(Result).join(Verification).where(Verification.instrument_id == instrument.id)
        .order_by(Result.id.desc())))


# --- rigs --------------------------------------------------------------------------------------

def _check_rig(session: Session, actor: User, data: dict) -> None:
    errors = {}
    if "kind" in data and data["kind"] not in RIG_KINDS:
        errors["kind"] = [ONE_OF % {"choices": ", ".join(RIG_KINDS)}]
    if "link" in data:
        try:
            parse_link(data["link"])
        except LinkError as exc:
            errors["link"] = [str(exc)]
    if errors:
        raise Invalid(N_("invalid rig"), errors, code="invalid_rig")
    lab_id = data.get("lab_id")
    if lab_id is not None:
        lab = session.get(Lab, lab_id)
        if lab is None:
            raise Invalid(N_("unknown lab"), {"lab_id": [N_("no lab %(id)s")]}, code="no_lab", params={"id": lab_id})
        if not lab.managed_by(actor):
            raise Forbidden(N_("only lab %(lab)s's managers or an administrator register its rigs"),
                            code="not_your_lab", params={"lab": lab.code})
    elif actor.role != "admin":
        raise Forbidden(N_("a rig that belongs to no lab is registered by an administrator"), code="forbidden_role")


def register_rig(session: Session, actor: User | None, data: dict) -> Rig:
    require_role(actor, "admin", "lab_manager")
    _check_rig(session, actor, data)
    if session.scalar(select(Rig.id).where(Rig.code == data["code"])):
        raise Conflict(RIG_EXISTS, code="rig_code_taken", params={"code": data["code"]})
    rig = Rig(**{k: data[k] for k in RIG_FIELDS if k in data})
    session.add(rig)
    session.flush()
    audit.record(session, actor.id, "rig.register", "rig", rig.id, None, audit.snapshot(rig, RIG_FIELDS))
    return rig


def update_rig(session: Session, actor: User | None, rig_id: int, changes: dict) -> Rig:
    require_role(actor, "admin", "lab_manager")
    rig = get_rig(session, actor, rig_id)
    _check_rig(session, actor, {"lab_id": rig.lab_id, **changes})
    before = audit.snapshot(rig, RIG_FIELDS)
    if "code" in changes and changes["code"] != rig.code and session.scalar(select(Rig.id).where(Rig.code == changes["code"])):
        raise Conflict(RIG_EXISTS, code="rig_code_taken", params={"code": changes["code"]})
    for name in RIG_FIELDS:
        if name in changes:
            setattr(rig, name, changes[name])
    session.flush()
    audit.record(session, actor.id, "rig.update", "rig", rig.id, before, audit.snapshot(rig, RIG_FIELDS))
    return rig


def list_rigs(session: Session, actor: User | None, kind: str | None = None) -> list[Rig]:
    require_role(actor, *STAFF)
    query = select(Rig).order_by(Rig.code)
    if kind:
        query = query.where(Rig.kind == kind)
    return list(session.scalars(query))


def get_rig(session: Session, actor: User | None, rig_id: int) -> Rig:
    require_role(actor, *STAFF)
    rig = session.get(Rig, rig_id)
    if rig is None:
        raise NotFound(N_("no rig %(id)s"), code="no_rig", params={"id": rig_id})
    return rig


def find_rig(session: Session, code_or_link: str) -> Rig:
    rig = session.scalar(select(Rig).where((Rig.code == code_or_link) | (Rig.link == code_or_link)))
    if rig is None:
        raise NotFound(N_("no registered rig with code or link %(rig)s"), code="no_rig", params={"rig": code_or_link[:80]})
    return rig


def standard_problem(rig: Rig, today: dt.date) -> Message | None:
    """Why the rig's reference standard may not be used today, if it may not."""
    if rig.standard_valid_until < today:
        return N_("rig %(rig)s: the certificate %(certificate)s of its reference standard expired on %(day)s") % {
            "rig": rig.code, "certificate": rig.standard_certificate_no, "day": rig.standard_valid_until}
    return None


# --- runs --------------------------------------------------------------------------------------

def request_verification(session: Session, actor: User | None, instrument_id: int, rig_id: int,
                         procedure_id: int | None = None, nozzle: int | None = None,
                         as_found_id: int | None = None, adjustment: str | None = None,
                         seal_number: str | None = None) -> Verification:
    """Queue a run for the runner that owns the rig. Refused at once when the procedure does not fit
    the instrument or rig, the standard's certificate has expired, or the rig is kept to its lab."""
    require_role(actor, *OPERATORS)
    instrument = session.get(VerifiedInstrument, instrument_id)
    if instrument is None:
        raise Invalid(N_("unknown instrument"), {"instrument_id": [NO_INSTRUMENT]}, code="no_instrument",
                      params={"id": instrument_id})
    rig = session.get(Rig, rig_id)
    if rig is None or not rig.active:
        raise Invalid(N_("unknown rig"), {"rig_id": [N_("no rig %(id)s in service")]}, code="no_rig",
                      params={"id": rig_id})
    if procedure_id is None:
        procedure = session.scalar(select(Procedure).where(Procedure.instrument_kind == instrument.kind,
                                                           Procedure.in_force).order_by(Procedure.id.desc()).limit(1))
    else:
        procedure = session.get(Procedure, procedure_id)
    if procedure is None:
        raise Invalid(N_("unknown procedure"), {"procedure_id": [N_("no such procedure (or none in force for this kind)")]},
                      code="no_procedure")
    errors = {}
    if procedure.instrument_kind != instrument.kind:
        errors["procedure_id"] = [N_("%(procedure)s verifies %(kind)s, not %(other)s") % {
            "procedure": procedure.name, "kind": procedure.instrument_kind, "other": instrument.kind}]
    if rig.kind != procedure.rig_kind:
        errors["rig_id"] = [N_("%(procedure)s runs on a %(kind)s rig; %(rig)s is %(other)s") % {
            "procedure": procedure.name, "kind": procedure.rig_kind.upper(), "rig": rig.code, "other": rig.kind.upper()}]
    if errors:
        raise Invalid(N_("the procedure does not fit"), errors, code="procedure_misfit")
    lab = session.get(Lab, rig.lab_id) if rig.lab_id else None
    if rig.restricted and lab is not None and actor.role == "technician" and actor not in lab.technicians:
        raise Forbidden(N_("rig %(rig)s belongs to lab %(lab)s, which keeps its rigs to its own technicians"),
                        code="rig_restricted", params={"rig": rig.code, "lab": lab.code})
    expired = standard_problem(rig, local_today(lab))
    if expired:
        raise Invalid(expired, {"rig_id": [expired]}, code="rig_standard_expired")
    try:
        plan = domain.build_plan(procedure.data, instrument.nameplate, nozzle=nozzle)
    except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
        raise Invalid(N_("the run cannot be planned"), {"nozzle" if nozzle is not None else "instrument_id": [str(exc)]},
                      code="unplannable") from None
    if as_found_id is not None:
        as_found = session.get(Verification, as_found_id)
        if as_found is None or as_found.instrument_id != instrument.id:
            raise Invalid(N_("unknown as-found run"), {"as_found_id": [N_("no run %(id)s of this instrument")]},
                          code="no_as_found_run", params={"id": as_found_id})
        if not adjustment:
            raise Invalid(N_("say what was adjusted"), {"adjustment": [N_("required for an as-left run")]},
                          code="adjustment_required")
    verification = Verification(instrument_id=instrument.id, rig_id=rig.id, procedure_id=procedure.id,
                                technician_id=actor.id, nozzle=nozzle, plan=[_point_json(p) for p in plan],
                                as_found_id=as_found_id, adjustment=adjustment, seal_number=seal_number)
    session.add(verification)
    session.flush()
    audit.record(session, actor.id, "verification.request", "verification", verification.id, None,
                 {"instrument_id": instrument.id, "rig_id": rig.id, "procedure": procedure.name, "nozzle": nozzle,
                  "as_found_id": as_found_id})
    return verification


def _point_json(point: domain.Point) -> dict:
    return {"index": point.index, "key": point.key, "label": point.label, "operation": point.operation,
            "settings": point.settings, "repetitions": point.repetitions}


def plan_points(verification: Verification) -> list[domain.Point]:
    return [domain.Point(**p) for p in verification.plan]


def _visible(actor: User, verification: Verification) -> bool:
    return actor.role != "enterprise" or verification.instrument.enterprise_id == actor.enterprise_id


def get_verification(session: Session, actor: User | None, verification_id: int) -> Verification:
    require_role(actor, *STAFF, "enterprise")
    verification = session.get(Verification, verification_id)
    if verification is None or not _visible(actor, verification):
        raise NotFound(N_("no verification %(id)s"), code="no_verification", params={"id": verification_id})
    return verification


def list_verifications(session: Session, actor: User | None, state: str | None = None,
                       limit: int = 100) -> list[Verification]:
    require_role(actor, *STAFF, "enterprise")
    query = select(Verification).options(selectinload(Verification.instrument), selectinload(Verification.rig),
                                         selectinload(Verification.procedure))
    if actor.role == "enterprise":
        query = query.join(VerifiedInstrument).where(VerifiedInstrument.enterprise_id == actor.enterprise_id)
    if state:
        query = query.where(Verification.state == state)
    return list(session.scalars(query.order_by(Verification.id.desc()).limit(limit)))


def verification_detail(session: Session, actor: User | None, verification_id: int) -> dict:
    """The run with its readings, result and certificate, as the API and the console show it."""
    verification = get_verification(session, actor, verification_id)
    result = result_of(session, verification.id)
    columns = {c.key: getattr(verification, c.key) for c in Verification.__table__.columns}
    return {**columns, "instrument": verification.instrument, "rig": verification.rig,
            "procedure": verification.procedure, "readings": readings_of(session, verification.id),
            "result": result, "certificate": certificate_of(session, result)}


def readings_of(session: Session, verification_id: int) -> list[Reading]:
    return list(session.scalars(select(Reading).where(Reading.verification_id == verification_id)
                                .order_by(Reading.id)))


def result_of(session: Session, verification_id: int) -> Result | None:
    return session.scalar(select(Result).where(Result.verification_id == verification_id))


def certificate_of(session: Session, result: Result | None) -> Certificate | None:
    return None if result is None else session.scalar(select(Certificate).where(Certificate.result_id == result.id))


def cancel_verification(session: Session, actor: User | None, verification_id: int) -> Verification:
    require_role(actor, *OPERATORS)
    verification = get_verification(session, actor, verification_id)
    if verification.state not in ("queued", "running", "failed"):
        raise Conflict(N_("verification %(id)s is %(state)s; it cannot be cancelled"), code="invalid_transition",
                       params={"id": verification_id, "state": RUN_STATE_NAMES[verification.state]})
    verification.state, verification.finished_at = "cancelled", utcnow()
    audit.record(session, actor.id, "verification.cancel", "verification", verification.id, None, {"state": "cancelled"})
    return verification


def retry_verification(session: Session, actor: User | None, verification_id: int) -> Verification:
    """Queue a failed run again: it resumes at its first unfinished point, its readings kept."""
    require_role(actor, *OPERATORS)
    verification = get_verification(session, actor, verification_id)
    if verification.state != "failed":
        raise Conflict(N_("verification %(id)s is %(state)s; only a failed run is retried"), code="invalid_transition",
                       params={"id": verification_id, "state": RUN_STATE_NAMES[verification.state]})
    verification.state, verification.problem = "queued", None
    audit.record(session, actor.id, "verification.retry", "verification", verification.id, None, {"state": "queued"})
    return verification


def record_manual_reading(session: Session, actor: User | None, verification_id: int, point_index: int,
                          values: dict) -> Reading:
    """A reading entered by hand, where the procedure allows it for the point's operation; marked
    manual and chained like any other. Only while no runner drives the run (queued or failed):
    a failed run retried then resumes with it."""
    require_role(actor, *OPERATORS)
    verification = get_verification(session, actor, verification_id)
    if verification.state not in ("queued", "failed"):
        raise Conflict(N_("verification %(id)s is %(state)s; readings are entered by hand only while it waits or "
                          "after it failed"), code="invalid_transition",
                       params={"id": verification_id, "state": RUN_STATE_NAMES[verification.state]})
    points = plan_points(verification)
    if not 0 <= point_index < len(points):
        raise Invalid(N_("unknown point"), {"point_index": [N_("the plan has points 0 to %(last)s")]},
                      code="no_point", params={"last": len(points) - 1})
    point = points[point_index]
    allowed = verification.procedure.data.get("manual_operations", [])
    if point.operation not in allowed:
        raise Invalid(N_("no manual readings here"), {"point_index": [
            N_("%(procedure)s allows no readings by hand for %(operation)s points")]}, code="no_manual_readings",
            params={"procedure": verification.procedure.name, "operation": point.operation})
    expected = domain.READING_FIELDS[point.operation]
    unknown = sorted(set(values) - set(expected))
    if unknown:
        raise Invalid(N_("unknown values"), {"values": [N_("%(unknown)s: expected only %(expected)s")]},
                      code="unknown_values", params={"unknown": ", ".join(unknown), "expected": ", ".join(expected)})
    reading = record_reading(session, verification.id, point_index, values,
                             domain.reading_problem(verification.procedure.data, point, values), manual=True)
    audit.record(session, actor.id, "reading.manual", "verification", verification.id, None,
                 {"reading_id": reading.id, "point_index": point_index, "values": values})
    return reading


# --- the runner's side ---------------------------------------------------------------------------

def record_reading(session: Session, verification_id: int, point_index: int, values: dict,
                   problem: str | None, manual: bool = False) -> Reading:
    """Append a reading to the chain; the caller commits at once (nothing acknowledged is lost)."""
    return chain.append(session, Reading(verification_id=verification_id, point_index=point_index, values=values,
                                         problem=problem, manual=manual, at=utcnow()))


# Called as hook(session, certificate) in the transaction that concluded a run: what waits on runs
# (the requests of labs.services) registers here, so this package does not import it.
CONCLUDED: list[Callable[[Session, Certificate], None]] = []


def conclude(session: Session, verification: Verification, evaluation: domain.Evaluation) -> Certificate:
    """The result, its certificate or notice of failure, and the instrument's next due date."""
    instrument, rig, procedure = verification.instrument, verification.rig, verification.procedure
    lab = session.get(Lab, rig.lab_id) if rig.lab_id else None
    today = local_today(lab)
    next_due = domain.next_due(procedure.data, today, evaluation.verdict)
    result = chain.append(session, Result(
        verification_id=verification.id, procedure_id=procedure.id, procedure_name=procedure.name,
        evaluation=evaluation.as_dict(), verdict=evaluation.verdict, verified_on=today, next_due=next_due,
        at=utcnow()))
    kind = "certificate" if evaluation.verdict == "pass" else "failure_notice"
    number = next_certificate_number(session, kind, today)
    public = {
        "number": number, "kind": kind, "verdict": evaluation.verdict,
        "instrument": {"kind": instrument.kind, "kind_name": KIND_NAMES[instrument.kind],
                       "serial_number": instrument.serial_number, "model": instrument.model,
                       "manufacturer": instrument.manufacturer},
        "owner": {"name": instrument.enterprise.name, "credit_code": instrument.enterprise.credit_code},
        "procedure": procedure.name, "verified_on": today.isoformat(),
        "valid_until": next_due.isoformat() if next_due else None,
        "seal_number": verification.seal_number if evaluation.verdict == "pass" else None,
        "as_left": verification.as_found_id is not None,
    }
    certificate = chain.append(session, Certificate(number=number, result_id=result.id, kind=kind, issued_on=today,
                                                    valid_until=next_due, public=public, at=utcnow()))
    instrument.next_due = next_due
    verification.state, verification.finished_at, verification.problem = "done", utcnow(), None
    for hook in CONCLUDED:
        hook(session, certificate)
    return certificate


def next_certificate_number(session: Session, kind: str, today: dt.date) -> str:
    """JD2026-000123: the next number of its kind and year. The numbers from FIELD_NUMBERS_FROM up
    are reserved in blocks for laptops on site (labs.field); a database that holds blocks `here`
    (a laptop's) numbers from them, any other counts the numbers below them."""
    chain.lock(session, Certificate)
    prefix = f"{CERTIFICATE_PREFIX[kind]}{today.year}-"
    blocks = list(session.scalars(select(CertificateBlock).where(CertificateBlock.here)
                                  .order_by(CertificateBlock.year, CertificateBlock.first)))
    if not blocks:
        count = session.scalar(select(func.count()).select_from(Certificate).where(
            Certificate.number.like(prefix + "%"), Certificate.number < f"{prefix}{FIELD_NUMBERS_FROM:06d}"))
        return f"{prefix}{count + 1:06d}"
    for block in blocks:
        if block.year != today.year:
            continue
        used = session.scalar(select(func.count()).select_from(Certificate).where(
            Certificate.number.between(f"{prefix}{block.first:06d}", f"{prefix}{block.last:06d}")))
        if used <= block.last - block.first:
            return f"{prefix}{block.first + used:06d}"
    raise Conflict(N_("the certificate numbers reserved for this laptop for %(year)s are used up: "
                      "run labs field sync to reserve more"), code="field_numbers_used_up",
                   params={"year": today.year})


def public_certificate(session: Session, number: str) -> Certificate:
    """Anyone may confirm a certificate by its number; a number unknown is not found."""
    certificate = session.scalar(select(Certificate).where(Certificate.number == number[:32]))
    if certificate is None:
        raise NotFound(NO_CERTIFICATE, code="no_certificate", params={"number": number[:32]})
    return certificate


def get_certificate(session: Session, actor: User | None, number: str) -> Certificate:
    """The whole certificate (with its result) for staff and the owning enterprise."""
    require_role(actor, *STAFF, "enterprise")
    certificate = public_certificate(session, number)
    if not _visible(actor, certificate.result.verification):
        raise NotFound(NO_CERTIFICATE, code="no_certificate", params={"number": number[:32]})
    return certificate
