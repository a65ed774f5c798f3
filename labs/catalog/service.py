"""Catalog use cases: labs, their hours, closures, instruments and technicians. Admins manage every
lab; a lab manager manages the labs assigned to them and says which technicians work in them."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from labs import audit
from labs.accounts.models import User
from labs.accounts.service import Actor, new_calendar_token, require_role
from labs.catalog.models import Closure, Instrument, Lab, OpeningHours
from labs.errors import Conflict, Forbidden, Invalid, NotFound
from labs.i18n import N_, render

# Weekdays as the opening hours number them (0 = Monday), for messages about one of them.
WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
            N_("Sunday"))

LAB_FIELDS = ("code", "name", "discipline", "location", "timezone", "bays", "public_benefit", "fee_per_hour",
              "fee_per_batch", "approval_mode", "approval_deadline_days", "document_deadline_days",
              "min_duration_minutes", "max_duration_minutes", "max_advance_days", "max_weekly_hours_per_enterprise",
              "slot_step_minutes")
# The disciplines of the bureau's labs, in every language: a lab's discipline is free text, shown
# translated (the |translated filter) when it is one of these.
DISCIPLINES = (N_("bearings"), N_("pumps and valves"), N_("LED"), N_("industrial CT"), N_("EMC"),
               N_("gas cylinders"))
# Set when the lab is created; the manager's page shows them and changes the rest of LAB_FIELDS.
FIXED_AT_CREATION = ("code", "discipline", "timezone")


def list_labs(session: Session) -> list[Lab]:
    return list(session.scalars(select(Lab).options(selectinload(Lab.hours), selectinload(Lab.instruments))
                                .order_by(Lab.code)))


def get_lab(session: Session, lab_id: int) -> Lab:
    lab = session.get(Lab, lab_id)
    if lab is None:
        raise NotFound(N_("no lab with id %(id)s"), code="no_lab", params={"id": lab_id})
    return lab


def _require_manager(actor: Actor | None, lab: Lab) -> Actor:
    actor = require_role(actor, "admin", "lab_manager")
    if not lab.managed_by(actor):
        raise Forbidden(N_("you do not manage lab %(lab)s"), code="not_your_lab", params={"lab": lab.code})
    return actor


def managed_lab(session: Session, actor: Actor | None, lab_id: int) -> tuple[Actor, Lab]:
    """The actor and lab `lab_id`, which the actor must manage (Lab.managed_by)."""
    require_role(actor, "admin", "lab_manager")
    lab = get_lab(session, lab_id)
    return _require_manager(actor, lab), lab


def _validate_lab(data: dict) -> None:
    errors: dict[str, list[str]] = {}
    if "timezone" in data:
        try:
            ZoneInfo(data["timezone"])
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory ("America") or unreadable
            errors["timezone"] = [N_("unknown time zone %(zone)s") % {"zone": str(data["timezone"])[:60]}]
    if data.get("min_duration_minutes", 1) > data.get("max_duration_minutes", 10**9):
        errors["max_duration_minutes"] = [N_("must not be less than the minimum duration")]
    codes = [instrument["code"] for instrument in data.get("instruments", [])]
    if len(codes) != len(set(codes)):
        errors["instruments"] = [N_("each instrument code once")]
    for span in data.get("hours", []):
        if span["closes"] <= span["opens"]:
            errors.setdefault("hours", []).append(render(N_("%(weekday)s: closes must be after opens"),
                                                         {"weekday": WEEKDAYS[span["weekday"]]}))
    if errors:
        raise Invalid(N_("invalid lab"), errors, code="invalid_lab")


def create_lab(session: Session, actor: Actor | None, data: dict) -> Lab:
    actor = require_role(actor, "admin")
    _validate_lab(data)
    if session.scalar(select(Lab.id).where(Lab.code == data["code"])) is not None:
        raise Conflict(N_("a lab with code %(code)s exists"), code="lab_code_taken", params={"code": data["code"]})
    lab = Lab(**{k: v for k, v in data.items() if k in LAB_FIELDS}, calendar_token=new_calendar_token())
    lab.hours = [OpeningHours(**span) for span in data.get("hours", [])]
    lab.instruments = [Instrument(**instrument) for instrument in data.get("instruments", [])]
    lab.managers = _managers(session, data.get("manager_ids", []))
    lab.technicians = _technicians(session, data.get("technician_ids", []))
    session.add(lab)
    session.flush()
    audit.record(session, actor.id, "lab.create", "lab", lab.id, None, _lab_snapshot(lab))
    return lab


def _lab_snapshot(lab: Lab) -> dict:
    """The lab for the audit log: its fields, opening hours and the people assigned to it."""
    hours = sorted((span.weekday, span.opens, span.closes) for span in lab.hours)
    return {**audit.snapshot(lab, LAB_FIELDS),
            "hours": [{"weekday": day, "opens": opens.isoformat(), "closes": closes.isoformat()}
                      for day, opens, closes in hours],
            "manager_ids": sorted(user.id for user in lab.managers),
            "technician_ids": sorted(user.id for user in lab.technicians)}


def _managers(session: Session, ids: list[int]) -> list[User]:
    users = list(session.scalars(select(User).where(User.id.in_(ids), User.role == "lab_manager")))
    missing = sorted(set(ids) - {user.id for user in users})
    if missing:
        raise Invalid(N_("unknown lab managers"), {"manager_ids": [N_("not lab managers: %(ids)s")]},
                      code="unknown_managers", params={"ids": ", ".join(map(str, missing))})
    return users


def _technicians(session: Session, ids: list[int]) -> list[User]:
    users = list(session.scalars(select(User).where(User.id.in_(ids), User.role == "technician")))
    missing = sorted(set(ids) - {user.id for user in users})
    if missing:
        raise Invalid(N_("unknown technicians"), {"technician_ids": [N_("not technicians: %(ids)s")]},
                      code="unknown_technicians", params={"ids": ", ".join(map(str, missing))})
    return users


def list_technicians(session: Session, actor: Actor | None) -> list[User]:
    """Every technician, for the managers who say which of them work in their labs."""
    require_role(actor, "admin", "lab_manager")
    return list(session.scalars(select(User).where(User.role == "technician", User.active).order_by(User.name, User.id)))


def update_lab(session: Session, actor: Actor | None, lab_id: int, data: dict) -> Lab:
    lab = get_lab(session, lab_id)
    actor = _require_manager(actor, lab)
    if not data:
        raise Invalid(N_("nothing to change: the form was empty"), code="nothing_to_change")
    if "manager_ids" in data and actor.role != "admin":
        raise Forbidden(N_("only an admin assigns lab managers"), code="forbidden_role")
    _validate_lab({**{k: getattr(lab, k) for k in ("min_duration_minutes", "max_duration_minutes")}, **data})
    before = _lab_snapshot(lab)
    for key, value in data.items():
        if key in LAB_FIELDS:
            setattr(lab, key, value)
    if "hours" in data:
        lab.hours = [OpeningHours(**span) for span in data["hours"]]
    if "manager_ids" in data:
        lab.managers = _managers(session, data["manager_ids"])
    if "technician_ids" in data:
        lab.technicians = _technicians(session, data["technician_ids"])
    session.flush()
    audit.record(session, actor.id, "lab.update", "lab", lab.id, before, _lab_snapshot(lab))
    return lab


def add_closure(session: Session, actor: Actor | None, lab_id: int, starts_at: dt.datetime,
                ends_at: dt.datetime, reason: str) -> Closure:
    lab = get_lab(session, lab_id)
    actor = _require_manager(actor, lab)
    if ends_at <= starts_at:
        raise Invalid(N_("invalid closure"), {"ends_at": [N_("must be after the start")]}, code="end_before_start")
    closure = Closure(lab_id=lab.id, starts_at=starts_at, ends_at=ends_at, reason=reason)
    session.add(closure)
    session.flush()
    audit.record(session, actor.id, "closure.create", "closure", closure.id, None,
                 audit.snapshot(closure, ("lab_id", "starts_at", "ends_at", "reason")))
    return closure


INSTRUMENT_FIELDS = ("code", "name", "certificate_no", "calibration_valid_until")


def _check_instrument_code(session: Session, lab: Lab, code: str, instrument_id: int | None = None) -> None:
    """Bookings and certificates name an instrument by its code: one code once per lab."""
    taken = session.scalar(select(Instrument.id).where(Instrument.lab_id == lab.id, Instrument.code == code,
                                                       Instrument.id != (instrument_id or 0)))
    if taken is not None:
        raise Conflict(N_("lab %(lab)s already has an instrument %(code)s"), code="instrument_code_taken",
                       params={"lab": lab.code, "code": code})


def _check_calibration(lab: Lab, valid_until: dt.date) -> None:
    """A certificate that has run out is no calibration: record the new one instead."""
    if valid_until < dt.datetime.now(ZoneInfo(lab.timezone)).date():
        raise Invalid(N_("the calibration certificate expired on %(day)s: record a valid one"),
                      {"calibration_valid_until": [N_("the calibration certificate expired on %(day)s: record a valid one")]},
                      code="calibration_expired", params={"day": valid_until})


def add_instrument(session: Session, actor: Actor | None, lab_id: int, data: dict) -> Instrument:
    lab = get_lab(session, lab_id)
    actor = _require_manager(actor, lab)
    _check_instrument_code(session, lab, data["code"])
    _check_calibration(lab, data["calibration_valid_until"])
    instrument = Instrument(lab_id=lab.id, **data)
    session.add(instrument)
    session.flush()
    audit.record(session, actor.id, "instrument.create", "instrument", instrument.id, None,
                 audit.snapshot(instrument, INSTRUMENT_FIELDS))
    return instrument


def managed_instrument(session: Session, actor: Actor | None, lab_id: int,
                       instrument_id: int) -> tuple[Actor, Lab, Instrument]:
    """The actor, lab `lab_id` (which the actor must manage) and its instrument `instrument_id`."""
    actor, lab = managed_lab(session, actor, lab_id)
    return actor, lab, _find_instrument(session, instrument_id, lab.id)


def _find_instrument(session: Session, instrument_id: int, lab_id: int | None = None) -> Instrument:
    """Instrument `instrument_id`; with `lab_id`, only if it is that lab's (another's is absent)."""
    instrument = session.get(Instrument, instrument_id)
    if instrument is None or (lab_id is not None and instrument.lab_id != lab_id):
        raise NotFound(N_("no instrument with id %(id)s in this lab") if lab_id is not None else
                       N_("no instrument with id %(id)s"), code="no_instrument", params={"id": instrument_id})
    return instrument


def update_instrument(session: Session, actor: Actor | None, instrument_id: int, data: dict,
                      lab_id: int | None = None) -> Instrument:
    """Change an instrument (a new calibration certificate); with `lab_id`, only that lab's."""
    instrument = _find_instrument(session, instrument_id, lab_id)
    lab = get_lab(session, instrument.lab_id)
    actor = _require_manager(actor, lab)
    if not data:  # a new certificate's date is what the form is for
        raise Invalid(N_("nothing to change: the form was empty"),
                      {"calibration_valid_until": [N_("nothing to change: the form was empty")]}, code="nothing_to_change")
    if "code" in data:
        _check_instrument_code(session, lab, data["code"], instrument.id)
    if "calibration_valid_until" in data:
        _check_calibration(lab, data["calibration_valid_until"])
    before = audit.snapshot(instrument, INSTRUMENT_FIELDS)
    for key, value in data.items():
        setattr(instrument, key, value)
    session.flush()
    audit.record(session, actor.id, "instrument.update", "instrument", instrument.id, before,
                 audit.snapshot(instrument, INSTRUMENT_FIELDS))
    return instrument


def remove_closure(session: Session, actor: Actor | None, lab_id: int, closure_id: int) -> None:
    """Open the lab again where a closure was (entered by mistake, or the maintenance was called off)."""
    actor, lab = managed_lab(session, actor, lab_id)
    closure = session.get(Closure, closure_id)
    if closure is None or closure.lab_id != lab.id:
        raise NotFound(N_("no closure with id %(id)s in this lab"), params={"id": closure_id})
    before = audit.snapshot(closure, ("lab_id", "starts_at", "ends_at", "reason"))
    session.delete(closure)
    session.flush()
    audit.record(session, actor.id, "closure.delete", "closure", closure_id, before, None)


def retire_instrument(session: Session, actor: Actor | None, lab_id: int, instrument_id: int) -> Instrument:
    """Take an instrument out of service for good: it stays on record (bookings and certificates name
    it) but is no longer offered or booked."""
    actor, lab, instrument = managed_instrument(session, actor, lab_id, instrument_id)
    if instrument.retired_on is not None:
        raise Conflict(N_("instrument %(code)s was retired on %(day)s"), code="instrument_retired",
                       params={"code": instrument.code, "day": instrument.retired_on})
    before = audit.snapshot(instrument, INSTRUMENT_FIELDS + ("retired_on",))
    instrument.retired_on = dt.datetime.now(ZoneInfo(lab.timezone)).date()
    session.flush()
    audit.record(session, actor.id, "instrument.retire", "instrument", instrument.id, before,
                 audit.snapshot(instrument, INSTRUMENT_FIELDS + ("retired_on",)))
    return instrument
