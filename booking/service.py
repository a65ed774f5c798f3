"""Booking use cases. Each takes a session (the unit of work) and the acting user, and checks
authorization itself; the caller commits."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from booking import documents, domain
from booking.models import Booking, BookingDocument, WaitlistEntry
from labs import audit, exclusive
from labs.audit import AuditEntry
from labs.accounts.models import ROLE_NAMES, Enterprise, User
from labs.accounts.service import SYSTEM, Actor, require_role
from labs.catalog.domain import Hours, within_opening
from labs.catalog.models import Closure, Instrument, Lab
from labs.catalog.service import get_lab, managed_lab
from labs.db import utcnow
from labs.errors import Conflict, Forbidden, Invalid, NotFound
from labs.i18n import N_, Message, Span, render
from labs.notify import notify, notify_enterprise
from labs.workdays import add_working_days, day_kind

TAKEN = N_("conflicts with another booking")
WAITLIST_STATUS_NAMES = {"waiting": N_("waiting"), "promoted": N_("promoted"), "withdrawn": N_("withdrawn")}
HOLIDAY = N_("%(day)s is a statutory holiday (%(holiday)s): the lab is closed")
CLOSED_HOURS = N_("outside the lab's opening hours on that day (holidays and weekends without weekend service "
                  "are closed)")
CLOSURE = N_("the lab is closed %(span)s: %(reason)s")
OFF_STEP = N_("times are on the lab's step of %(step)s minutes (for example 09:00, %(next)s)")
OUT_OF_CALIBRATION = N_("instrument %(code)s (%(name)s) is out of calibration on %(day)s: its certificate "
                        "%(certificate)s is valid until %(until)s")
NOT_INSTRUMENTS = N_("not instruments of lab %(lab)s: %(ids)s")
COMMITMENT = N_("submitting with missing documents needs the signed commitment")
# A 422 for a slot the lab's rules forbid is named by the first rule broken.
RULE_CODES = {HOLIDAY: "statutory_holiday", CLOSED_HOURS: "outside_opening_hours", CLOSURE: "lab_closed",
              OFF_STEP: "off_step", OUT_OF_CALIBRATION: "instrument_out_of_calibration",
              NOT_INSTRUMENTS: "unknown_instrument", COMMITMENT: "commitment_required", **domain.SLOT_CODES}

AUDIT_FIELDS = ("status", "lab_id", "bay", "enterprise_id", "starts_at", "ends_at", "batches", "fee",
                "missing_documents", "documents_due", "decision_note")


@dataclass
class BookingRequest:
    lab_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    test_type: str
    sample_description: str
    batches: int
    contact_name: str
    contact_phone: str
    instrument_ids: tuple[int, ...] = ()
    missing_documents: str = ""
    commitment_signed: bool = False

    def as_json(self) -> dict:
        data = dict(self.__dict__)
        data["starts_at"], data["ends_at"] = self.starts_at.isoformat(), self.ends_at.isoformat()
        data["instrument_ids"] = list(self.instrument_ids)
        return data

    @classmethod
    def from_json(cls, data: dict) -> BookingRequest:
        data = dict(data)
        data["starts_at"] = dt.datetime.fromisoformat(data["starts_at"])
        data["ends_at"] = dt.datetime.fromisoformat(data["ends_at"])
        data["instrument_ids"] = tuple(data["instrument_ids"])
        return cls(**data)


def lab_hours(lab: Lab) -> list[Hours]:
    return [Hours(h.weekday, h.opens, h.closes) for h in lab.hours]


# --- checks ----------------------------------------------------------------------------------

def _problems(session: Session, lab: Lab, req: BookingRequest, now: dt.datetime) -> dict[str, list[str]]:
    """Everything that forbids this slot apart from other bookings, by field."""
    tz = ZoneInfo(lab.timezone)
    errors: dict[str, list[str]] = {}
    rules = domain.SlotRules(dt.timedelta(minutes=lab.min_duration_minutes),
                             dt.timedelta(minutes=lab.max_duration_minutes),
                             dt.timedelta(days=lab.max_advance_days))
    slot = domain.slot_problems(rules, now, req.starts_at, req.ends_at)
    if not slot and not within_opening(req.starts_at, req.ends_at, lab_hours(lab), tz):
        day = req.starts_at.astimezone(tz).date()
        kind = day_kind(day)
        if kind.statutory_holiday:
            slot.append(HOLIDAY % {"day": day, "holiday": Message(kind.holiday_name)})
        else:
            slot.append(CLOSED_HOURS)
    if not slot:
        closure = session.scalars(select(Closure).where(
            Closure.lab_id == lab.id, Closure.starts_at < req.ends_at, Closure.ends_at > req.starts_at)).first()
        if closure is not None:
            slot.append(CLOSURE % {
                "span": Span(closure.starts_at.astimezone(tz), closure.ends_at.astimezone(tz)),
                "reason": closure.reason})
    if not slot and domain.off_step(req.starts_at, req.ends_at, lab.slot_step_minutes, tz):
        slot.append(OFF_STEP % {
            "step": lab.slot_step_minutes, "next": f"09:{lab.slot_step_minutes % 60:02d}"})
    if slot:
        errors["starts_at"] = slot
    instruments = _instruments(session, lab, req.instrument_ids, errors)
    last_day = domain.last_local_day(req.ends_at, tz)
    for inst in instruments:
        if not domain.calibration_covers(inst.calibration_valid_until, req.ends_at, tz):
            errors.setdefault("instrument_ids", []).append(
                OUT_OF_CALIBRATION % {
                    "code": inst.code, "name": inst.name, "day": last_day, "until": inst.calibration_valid_until,
                    "certificate": inst.certificate_no or N_("(none)")})
    if req.missing_documents.strip() and not req.commitment_signed:
        errors["commitment_signed"] = [COMMITMENT]
    return errors


def _instruments(session: Session, lab: Lab, ids: tuple[int, ...], errors: dict) -> list[Instrument]:
    if not ids:
        return []
    found = session.scalars(select(Instrument).where(Instrument.id.in_(ids), Instrument.lab_id == lab.id,
                                                     Instrument.retired_on.is_(None))).all()  # retired: booked no more
    missing = sorted(set(ids) - {i.id for i in found})
    if missing:
        errors.setdefault("instrument_ids", []).append(NOT_INSTRUMENTS % {
            "lab": lab.code, "ids": ", ".join(map(str, missing))})
    return list(found)


def _active_overlapping(session: Session, lab_id: int, start: dt.datetime, end: dt.datetime) -> list[Booking]:
    return list(session.scalars(select(Booking).where(
        Booking.lab_id == lab_id, Booking.status.in_(domain.ACTIVE),
        Booking.starts_at < end, Booking.starts_at > start - domain.MAX_BOOKING_LENGTH,
        Booking.ends_at > start).order_by(Booking.starts_at)))


def _free_bay(session: Session, lab: Lab, start: dt.datetime, end: dt.datetime) -> int | None:
    busy = {b.bay for b in _active_overlapping(session, lab.id, start, end)}
    return next((bay for bay in range(1, lab.bays + 1) if bay not in busy), None)


def _conflict(session: Session, lab: Lab, start: dt.datetime, end: dt.datetime) -> Conflict:
    slots = [{"bay": b.bay, "starts_at": b.starts_at.isoformat(), "ends_at": b.ends_at.isoformat()}
             for b in _active_overlapping(session, lab.id, start, end)]
    return Conflict(N_("every bay of lab %(lab)s is taken at some point between %(start)s and %(end)s"),
                    code="slot_taken", params={"lab": lab.code, "start": start.astimezone(ZoneInfo(lab.timezone)),
                                               "end": end.astimezone(ZoneInfo(lab.timezone))}, conflicts=slots)


def _holding_conflict(session: Session, lab: Lab, enterprise_id: int, start: dt.datetime,
                      end: dt.datetime) -> Conflict | None:
    """What the enterprise's own bookings in the lab forbid: asking for the same slot again (a
    duplicate), or more hours in a week than the lab allows one enterprise."""
    tz = ZoneInfo(lab.timezone)
    week_start, week_end = domain.local_week(start, tz)
    rows = session.execute(select(Booking.id, Booking.bay, Booking.starts_at, Booking.ends_at).where(
        Booking.enterprise_id == enterprise_id, Booking.lab_id == lab.id, Booking.status.in_(domain.ACTIVE),
        Booking.starts_at < week_end, Booking.starts_at > week_start - domain.MAX_BOOKING_LENGTH,
        Booking.ends_at > week_start)).all()
    held = [(row.id, row.starts_at, row.ends_at) for row in rows]
    duplicate = domain.duplicate_of(held, start, end)
    if duplicate is not None:
        bay = next(row.bay for row in rows if row.id == duplicate)
        # Like any 409 for a slot, it names the slot in the way: here the enterprise's own.
        return Conflict(N_("a duplicate: your enterprise already holds booking #%(id)s in lab %(lab)s for this slot"),
                        code="duplicate_booking", params={"id": duplicate, "lab": lab.code},
                        conflicts=[{"bay": bay, "starts_at": start.isoformat(), "ends_at": end.isoformat()}])
    problem = domain.weekly_hours_problem(lab.max_weekly_hours_per_enterprise,
                                          [(b_start, b_end) for _id, b_start, b_end in held], start, end, tz)
    return Conflict(problem, code="weekly_hours_limit") if problem else None


def _lock_enterprise(session: Session, enterprise_id: int) -> None:
    """Serialise one enterprise's requests (PostgreSQL; SQLite's BEGIN IMMEDIATE does it already),
    so that two at once cannot both pass the duplicate and weekly-limit checks."""
    session.execute(select(Enterprise.id).where(Enterprise.id == enterprise_id).with_for_update())


# --- making bookings ----------------------------------------------------------------------------

def _insert(session: Session, lab: Lab, requester: User, req: BookingRequest, now: dt.datetime,
            series_id: str | None = None, request_key: str | None = None) -> Booking:
    """Insert into a free bay. On PostgreSQL a concurrent insert may win the bay between our check
    and our insert: the exclusion constraint refuses ours (labs.exclusive), and we try the next free bay."""
    tz = ZoneInfo(lab.timezone)
    for _ in range(lab.bays + 1):
        bay = _free_bay(session, lab, req.starts_at, req.ends_at)
        if bay is None:
            break
        booking = Booking(
            lab_id=lab.id, bay=bay, enterprise_id=requester.enterprise_id, requester_id=requester.id,
            series_id=series_id, starts_at=req.starts_at, ends_at=req.ends_at,
            status="approved" if lab.approval_mode == "instant" else "requested",
            test_type=req.test_type, sample_description=req.sample_description, batches=req.batches,
            contact_name=req.contact_name, contact_phone=req.contact_phone,
            fee=domain.fee(lab.public_benefit, lab.fee_per_hour, lab.fee_per_batch,
                           req.starts_at, req.ends_at, req.batches),
            created_at=now, missing_documents=req.missing_documents.strip(),
            commitment_signed=req.commitment_signed, request_key=request_key,
        )
        today = now.astimezone(tz).date()
        if booking.status == "requested":
            booking.approval_due = add_working_days(today, lab.approval_deadline_days)
        else:
            booking.decided_at = now
        if booking.missing_documents:
            booking.documents_due = domain.documents_due(add_working_days(today, lab.document_deadline_days),
                                                         req.starts_at, tz)
        if req.instrument_ids:
            booking.instruments = list(session.scalars(select(Instrument).where(Instrument.id.in_(req.instrument_ids))))
        if not exclusive.insert_exclusive(session, booking):
            continue
        audit.record(session, requester.id, "booking.request", "booking", booking.id, None,
                     audit.snapshot(booking, AUDIT_FIELDS))
        return booking
    raise _conflict(session, lab, req.starts_at, req.ends_at)


def request_booking(session: Session, actor: Actor | None, req: BookingRequest,
                    now: dt.datetime | None = None, request_key: str | None = None) -> Booking:
    """Request one slot. With `request_key` (the form's, or the API's Idempotency-Key) a request
    sent again, e.g. by a double click, returns the booking the first one made."""
    actor = require_role(actor, "enterprise")
    now = now or utcnow()
    lab = get_lab(session, req.lab_id)
    _lock_enterprise(session, actor.enterprise_id)
    made = _made_with(session, actor, request_key)
    if made:
        return made[0]
    errors = _problems(session, lab, req, now)
    if errors:
        raise _breaks_rules(errors)
    conflict = _holding_conflict(session, lab, actor.enterprise_id, req.starts_at, req.ends_at)
    if conflict is not None:
        raise conflict
    booking = _insert(session, lab, actor, req, now, request_key=request_key)
    _announce(session, booking)
    return booking


def _breaks_rules(errors: dict[str, list[Message]]) -> Invalid:
    """The 422 of a slot the lab's rules forbid; its code names the first rule broken (a holiday,
    hours, a closure, ...), for programs."""
    first = next(iter(errors.values()))[0]
    return Invalid(N_("the booking request breaks the lab's rules"), errors,
                   code=RULE_CODES.get(getattr(first, "msgid", None), "booking_rules"))


def _made_with(session: Session, actor: Actor, request_key: str | None) -> list[Booking]:
    """The bookings the enterprise's request with this key made (read under the enterprise's lock)."""
    if not request_key:
        return []
    return list(session.scalars(select(Booking).where(
        Booking.enterprise_id == actor.enterprise_id, Booking.request_key == request_key).order_by(Booking.starts_at)))


def quote_fee(session: Session, lab_id: int, start: dt.datetime, end: dt.datetime, batches: int) -> dict:
    """What a booking of [start, end) with `batches` test batches would cost (fees are public)."""
    lab = get_lab(session, lab_id)
    if end <= start:
        raise Invalid(N_("the end must be after the start"), {"ends_at": [N_("must be after the start")]},
                      code="end_before_start")
    return {"lab_id": lab.id, "public_benefit": lab.public_benefit,
            "fee": domain.fee(lab.public_benefit, lab.fee_per_hour, lab.fee_per_batch, start, end, batches)}


def _announce(session: Session, booking: Booking) -> None:
    lab = booking.lab
    params = {"id": booking.id, "code": lab.code, "lab": lab.name, "slot": _slot(booking), "due": booking.approval_due}
    if booking.status == "approved":
        notify_enterprise(session, booking.enterprise_id, N_("Booking approved: %(code)s %(slot)s") % params,
                          N_("Booking #%(id)s in %(lab)s, %(slot)s, is approved.") % params, booking.id)
    else:
        notify(session, list(lab.managers), N_("Booking to approve: %(code)s %(slot)s") % params,
               N_("Booking #%(id)s in %(lab)s, %(slot)s, awaits approval by %(due)s.") % params, booking.id)


def _slot(booking: Booking) -> Span:
    """The booking's slot in its lab's time zone, as notices show it."""
    tz = ZoneInfo(booking.lab.timezone)
    return Span(booking.starts_at.astimezone(tz), booking.ends_at.astimezone(tz))


def request_series(session: Session, actor: Actor | None, req: BookingRequest, weeks: int,
                   policy: str, dry_run: bool = False, now: dt.datetime | None = None,
                   request_key: str | None = None) -> dict:
    """A weekly recurring booking. Every occurrence's problem is reported; with "all_or_nothing"
    one problem refuses the series, with "skip_conflicts" the others are booked."""
    actor = require_role(actor, "enterprise")
    if policy not in ("all_or_nothing", "skip_conflicts"):
        raise Invalid(N_("unknown policy"), {"policy": [N_("must be all_or_nothing or skip_conflicts")]},
                      code="unknown_policy")
    if not 1 <= weeks <= 52:
        raise Invalid(N_("invalid number of weeks"), {"weeks": [N_("between 1 and 52")]}, code="invalid_weeks")
    now = now or utcnow()
    lab = get_lab(session, req.lab_id)
    _lock_enterprise(session, actor.enterprise_id)
    made = [] if dry_run else _made_with(session, actor, request_key)
    if made:  # the same request again: what it made the first time
        return {"series_id": made[0].series_id, "policy": policy, "dry_run": False,
                "occurrences": [{"starts_at": b.starts_at, "ends_at": b.ends_at, "problem": None, "booking_id": b.id}
                                for b in made]}
    occurrences = []
    duplicates = 0
    for start, end in domain.weekly_occurrences(req.starts_at, req.ends_at, weeks, ZoneInfo(lab.timezone)):
        one = BookingRequest(**{**req.__dict__, "starts_at": start, "ends_at": end})
        errors = _problems(session, lab, one, now)
        problem = "; ".join(render(m) for ms in errors.values() for m in ms)
        holding = None if problem else _holding_conflict(session, lab, actor.enterprise_id, start, end)
        if holding is not None:
            problem = holding.detail
            duplicates += holding.code == "duplicate_booking"
        if not problem and _free_bay(session, lab, start, end) is None:
            problem = render(TAKEN)
        occurrences.append({"request": one, "starts_at": start, "ends_at": end, "problem": problem or None})
    if duplicates == weeks and not dry_run:
        # The whole series was asked for before: refused as one duplicate, whatever the policy.
        raise Conflict(N_("a duplicate: your enterprise already holds each of these %(weeks)s weekly slots in "
                          "lab %(lab)s"), code="duplicate_booking", params={"weeks": weeks, "lab": lab.code})
    failing = [o for o in occurrences if o["problem"]]
    report = {"series_id": None, "policy": policy, "dry_run": dry_run,
              "occurrences": [{k: o[k] for k in ("starts_at", "ends_at", "problem")} | {"booking_id": None}
                              for o in occurrences]}
    if failing and policy == "all_or_nothing" and not dry_run:
        raise Conflict(N_("%(failing)s of %(weeks)s occurrences cannot be booked; nothing was booked"),
                       code="series_refused", params={"failing": len(failing), "weeks": weeks}, occurrences=[{"starts_at": o["starts_at"].isoformat(), "ends_at": o["ends_at"].isoformat(),
                                     "problem": o["problem"]} for o in occurrences])
    if dry_run:
        return report
    series_id = uuid.uuid4().hex
    report["series_id"] = series_id
    for o, out in zip(occurrences, report["occurrences"]):
        if o["problem"]:
            continue
        try:
            booking = _insert(session, lab, actor, o["request"], now, series_id, request_key)
        except Conflict:  # lost a race since the check
            if policy == "all_or_nothing":
                raise
            out["problem"] = render(TAKEN)
            continue
        out["booking_id"] = booking.id
        _announce(session, booking)
    return report


def join_waitlist(session: Session, actor: Actor | None, req: BookingRequest,
                  now: dt.datetime | None = None) -> WaitlistEntry:
    """Queue for a slot that is taken now; the slot must otherwise be bookable."""
    actor = require_role(actor, "enterprise")
    now = now or utcnow()
    lab = get_lab(session, req.lab_id)
    errors = _problems(session, lab, req, now)
    if errors:
        raise _breaks_rules(errors)
    if _free_bay(session, lab, req.starts_at, req.ends_at) is not None:
        raise Conflict(N_("the slot is free: request it instead of waiting for it"), code="slot_free")
    conflict = _holding_conflict(session, lab, actor.enterprise_id, req.starts_at, req.ends_at)
    if conflict is not None:
        raise conflict
    if session.scalar(select(WaitlistEntry.id).where(
            WaitlistEntry.enterprise_id == actor.enterprise_id, WaitlistEntry.lab_id == lab.id,
            WaitlistEntry.status == "waiting", WaitlistEntry.starts_at == req.starts_at,
            WaitlistEntry.ends_at == req.ends_at)) is not None:
        raise Conflict(N_("your enterprise is already waiting for this slot"), code="already_waiting")
    entry = WaitlistEntry(lab_id=lab.id, enterprise_id=actor.enterprise_id, requester_id=actor.id,
                          starts_at=req.starts_at, ends_at=req.ends_at, request=req.as_json(), created_at=now)
    session.add(entry)
    session.flush()
    audit.record(session, actor.id, "waitlist.join", "waitlist", entry.id, None,
                 {"lab_id": lab.id, "starts_at": req.starts_at.isoformat(), "ends_at": req.ends_at.isoformat()})
    return entry


def waitlist_of(session: Session, actor: Actor | None, now: dt.datetime | None = None) -> list[WaitlistEntry]:
    """The places of the actor's enterprise on waitlists for slots still ahead, soonest first."""
    actor = require_role(actor, "enterprise")
    return list(session.scalars(select(WaitlistEntry).options(selectinload(WaitlistEntry.lab)).where(
        WaitlistEntry.enterprise_id == actor.enterprise_id, WaitlistEntry.ends_at > (now or utcnow()))
        .order_by(WaitlistEntry.starts_at, WaitlistEntry.id)))


def leave_waitlist(session: Session, actor: Actor | None, entry_id: int) -> WaitlistEntry:
    actor = require_role(actor, "enterprise")
    entry = session.scalar(select(WaitlistEntry).where(WaitlistEntry.id == entry_id).with_for_update())
    if entry is None or entry.enterprise_id != actor.enterprise_id:  # another's is answered as absent
        raise NotFound(N_("no waitlist entry with id %(id)s"), code="no_waitlist_entry", params={"id": entry_id})
    if entry.status != "waiting":
        raise Conflict(N_("the waitlist entry is %(status)s, no longer waiting"), code="waitlist_entry_closed",
                       params={"status": WAITLIST_STATUS_NAMES.get(entry.status, entry.status)})
    entry.status = "withdrawn"
    session.flush()
    audit.record(session, actor.id, "waitlist.leave", "waitlist", entry.id, {"status": "waiting"},
                 {"status": "withdrawn"})
    return entry


def _promote_waitlist(session: Session, lab: Lab, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> None:
    """A slot was freed: the earliest waiting requests for it get it, if it is still bookable."""
    waiting = session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.lab_id == lab.id, WaitlistEntry.status == "waiting",
        WaitlistEntry.starts_at < end, WaitlistEntry.ends_at > start)
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)).all()  # read out before the loop writes
    for entry in waiting:
        req = BookingRequest.from_json(entry.request)
        if (_problems(session, lab, req, now) or _free_bay(session, lab, req.starts_at, req.ends_at) is None
                or _holding_conflict(session, lab, entry.enterprise_id, req.starts_at, req.ends_at)):
            continue
        requester = session.get(User, entry.requester_id)
        booking = _insert(session, lab, requester, req, now)
        entry.status, entry.booking_id = "promoted", booking.id
        audit.record(session, SYSTEM.id, "waitlist.promote", "waitlist", entry.id, {"status": "waiting"},
                     {"status": "promoted", "booking_id": booking.id})
        notify_enterprise(session, entry.enterprise_id,
                          N_("Waitlist: you got %(code)s %(slot)s") % {"code": lab.code, "slot": _slot(booking)},
                          N_("A slot freed up: booking #%(id)s is now %(status)s.") % {
                              "id": booking.id, "status": domain.STATUS_NAMES[booking.status]}, booking.id)
        if booking.status == "requested":
            _announce(session, booking)


# --- reading --------------------------------------------------------------------------------------

def get_booking(session: Session, actor: Actor | None, booking_id: int, for_update: bool = False) -> Booking:
    actor = require_role(actor, "admin", "lab_manager", "technician", "enterprise")
    query = select(Booking).where(Booking.id == booking_id)
    if for_update:
        query = query.with_for_update()
    booking = session.scalar(query)
    # Another enterprise's booking, or another lab's to a manager, is answered as absent: a 403
    # naming the lab would tell that the booking exists and where.
    if booking is None or (actor.role == "enterprise" and booking.enterprise_id != actor.enterprise_id) \
            or (actor.role == "lab_manager" and not booking.lab.managed_by(actor)):
        raise NotFound(N_("no booking with id %(id)s"), code="no_booking", params={"id": booking_id})
    # A technician sees the bookings of the labs they work in; another lab's is absent to them too.
    if actor.role == "technician" and not booking.lab.staffed_by(actor):
        raise NotFound(N_("no booking with id %(id)s"), code="no_booking", params={"id": booking_id})
    return booking


def list_bookings(session: Session, actor: Actor | None, lab_id: int | None = None, status: str | None = None,
                  limit: int = 200, offset: int = 0) -> list[Booking]:
    actor = require_role(actor, "admin", "lab_manager", "technician", "enterprise")
    query = select(Booking).options(selectinload(Booking.lab), selectinload(Booking.instruments))
    if actor.role == "enterprise":
        query = query.where(Booking.enterprise_id == actor.enterprise_id)
    elif actor.role in ("lab_manager", "technician"):
        query = query.where(Booking.lab.has(Lab.staffed_by(actor)))
    if lab_id is not None:
        query = query.where(Booking.lab_id == lab_id)
    if status is not None:
        query = query.where(Booking.status == status)
    return list(session.scalars(query.order_by(Booking.starts_at.desc(), Booking.id.desc()).limit(limit).offset(offset)))


def approval_queue(session: Session, actor: Actor | None) -> list[Booking]:
    """Pending requests of the labs the actor manages, oldest first."""
    actor = require_role(actor, "admin", "lab_manager")
    return list(session.scalars(select(Booking).options(selectinload(Booking.lab)).where(
        Booking.status == "requested", Booking.lab.has(Lab.managed_by(actor)))
        .order_by(Booking.created_at, Booking.id)))


def is_overdue(booking: Booking, now: dt.datetime | None = None) -> bool:
    """A request still undecided after its approval deadline, as of today in the lab's time zone."""
    today = (now or utcnow()).astimezone(ZoneInfo(booking.lab.timezone)).date()
    return booking.status == "requested" and booking.approval_due is not None and today > booking.approval_due


# --- changing state -------------------------------------------------------------------------------

def transition(session: Session, actor: Actor | None, booking_id: int, action: str, note: str = "",
               now: dt.datetime | None = None) -> Booking:
    if action not in domain.TRANSITIONS or action == "lapse":
        raise NotFound(N_("no action %(action)s"), code="no_action", params={"action": action[:40]})
    rule = domain.TRANSITIONS[action]
    booking = get_booking(session, actor, booking_id, for_update=True)
    allowed = actor.role in rule.roles or (
        "owner" in rule.roles and actor.role == "enterprise" and actor.enterprise_id == booking.enterprise_id)
    if not allowed:
        raise Forbidden(N_("a %(role)s may not %(action)s a booking"), code="forbidden_role",
                        params={"role": ROLE_NAMES[actor.role], "action": domain.ACTION_NAMES[action]})
    now = now or utcnow()
    if booking.status not in rule.source:
        # No `status` extra: it would clash with the problem document's own HTTP status.
        raise Conflict(N_("cannot %(action)s a booking that is %(status)s"), code="invalid_transition",
                       params={"action": domain.ACTION_NAMES[action], "status": domain.STATUS_NAMES[booking.status]})
    problem = domain.timing_problem(action, actor.role == "enterprise", now, booking.starts_at, booking.ends_at)
    if problem:
        raise Conflict(problem, code="not_now")
    _check_action(booking, action, note)
    _apply(session, booking, rule.target, actor, action, note, now)
    return booking


def _check_action(booking: Booking, action: str, note: str) -> None:
    """What an action needs beyond its state and time: a rejection its reason, a check-in the
    documents the enterprise committed to, received by the lab."""
    if action == "reject" and not note.strip():
        raise Invalid(N_("a rejection needs its reason"), {"note": [N_("give the reason for the rejection")]},
                      code="reason_required")
    if action == "check_in" and awaiting_documents(booking):
        raise Conflict(N_("booking #%(id)s waits for its missing documents (%(missing)s): the lab confirms their "
                          "receipt before check-in"), code="documents_outstanding",
                       params={"id": booking.id, "missing": booking.missing_documents})


def awaiting_documents(booking: Booking) -> bool:
    """The booking was accepted with documents missing (容缺受理) and the lab has not received them."""
    return bool(booking.missing_documents) and booking.documents_received_at is None


def _apply(session: Session, booking: Booking, target: str, actor: Actor, action: str,
           note: str, now: dt.datetime) -> None:
    before = audit.snapshot(booking, AUDIT_FIELDS)
    freed = booking.status in domain.ACTIVE and target not in domain.ACTIVE
    booking.status = target
    booking.decision_note = note
    if action in ("approve", "reject"):
        booking.decided_at = now
    session.flush()
    audit.record(session, actor.id, f"booking.{action}", "booking", booking.id, before,
                 audit.snapshot(booking, AUDIT_FIELDS))
    params = {"id": booking.id, "status": domain.STATUS_NAMES[target], "code": booking.lab.code,
              "slot": _slot(booking), "note": note}
    notify_enterprise(session, booking.enterprise_id, N_("Booking %(status)s: %(code)s %(slot)s") % params,
                      (N_("Booking #%(id)s is now %(status)s. Note: %(note)s") if note else
                       N_("Booking #%(id)s is now %(status)s.")) % params, booking.id)
    if freed and booking.ends_at > now:
        _promote_waitlist(session, booking.lab, booking.starts_at, booking.ends_at, now)


def upload_document(session: Session, actor: Actor | None, booking_id: int, filename: str, data: bytes,
                    now: dt.datetime | None = None) -> BookingDocument:
    """The enterprise uploads one of the documents it committed to deliver (a PDF, PNG or JPEG).
    It does not clear the deadline: the lab confirms receipt once it has what was missing."""
    actor = require_role(actor, "enterprise")
    booking = get_booking(session, actor, booking_id, for_update=True)
    if not booking.missing_documents:
        raise _no_missing_documents(booking)
    if booking.status not in domain.TRANSITIONS["lapse"].source:
        raise _documents_closed(booking)
    if booking.documents_received_at is not None:
        raise Conflict(N_("the lab has confirmed the documents of booking #%(id)s received"),
                       code="documents_received", params={"id": booking.id})
    if len(booking.documents) >= documents.MAX_PER_BOOKING:
        raise Conflict(N_("a booking takes at most %(n)s documents"), code="too_many_documents",
                       params={"n": documents.MAX_PER_BOOKING})
    if not data:
        raise Invalid(N_("the file is empty"), {"file": [N_("the file is empty")]}, code="empty_document")
    if len(data) > documents.LIMIT_BYTES:
        raise Invalid(N_("the file is too large"), {"file": [N_("at most %(mib)s MiB")]}, code="document_too_large",
                      params={"mib": documents.LIMIT_BYTES // 1024 // 1024})
    kind = documents.content_type(data)
    if kind is None:
        raise Invalid(N_("not a PDF, PNG or JPEG file"),
                      {"file": [N_("the file is not a PDF, PNG or JPEG document (judged by its content)")]},
                      code="document_type")
    stored_as, sha256 = documents.store(data)
    document = BookingDocument(booking_id=booking.id, uploaded_by=actor.id, uploaded_at=now or utcnow(),
                               filename=documents.clean_filename(filename), content_type=kind,
                               size_bytes=len(data), sha256=sha256, stored_as=stored_as)
    session.add(document)
    session.flush()
    audit.record(session, actor.id, "booking.document", "booking", booking.id, None,
                 {"document_id": document.id, "filename": document.filename, "sha256": sha256,
                  "size_bytes": len(data)})
    params = {"id": booking.id, "code": booking.lab.code, "enterprise": booking.enterprise.name,
              "file": document.filename, "missing": booking.missing_documents}
    notify(session, list(booking.lab.managers), N_("Document uploaded: %(code)s #%(id)s") % params,
           N_("%(enterprise)s uploaded %(file)s for booking #%(id)s; missing: %(missing)s. Confirm receipt once "
              "everything has arrived.") % params, booking.id)
    return document


def _no_missing_documents(booking: Booking) -> Conflict:
    return Conflict(N_("booking #%(id)s has no missing documents"), code="no_missing_documents",
                    params={"id": booking.id})


def _documents_closed(booking: Booking) -> Conflict:
    return Conflict(N_("booking #%(id)s is %(status)s: documents are no longer accepted for it"),
                    code="documents_closed", params={"id": booking.id, "status": domain.STATUS_NAMES[booking.status]})


def get_document(session: Session, actor: Actor | None, booking_id: int, document_id: int) -> BookingDocument:
    """A booking's document, for its enterprise and the lab's staff; to anyone else it is absent."""
    booking = get_booking(session, actor, booking_id)
    document = next((d for d in booking.documents if d.id == document_id), None)
    if document is None:
        raise NotFound(N_("no document %(document)s of booking #%(id)s"), code="no_document",
                       params={"document": document_id, "id": booking_id})
    return document


def confirm_documents(session: Session, actor: Actor | None, booking_id: int, note: str = "",
                      now: dt.datetime | None = None) -> Booking:
    """The lab manager confirms the missing documents arrived: only this clears the deadline (the
    booking no longer lapses, and it may be checked in)."""
    actor = require_role(actor, *domain.STAFF)
    booking = get_booking(session, actor, booking_id, for_update=True)
    if not booking.missing_documents:
        raise _no_missing_documents(booking)
    if booking.documents_received_at is not None:
        raise Conflict(N_("the documents of booking #%(id)s were confirmed received already"),
                       code="documents_received", params={"id": booking.id})
    if booking.status not in domain.TRANSITIONS["lapse"].source:
        raise _documents_closed(booking)
    before = audit.snapshot(booking, AUDIT_FIELDS)
    booking.documents_received_at, booking.documents_received_by = now or utcnow(), actor.id
    session.flush()
    audit.record(session, actor.id, "booking.documents_received", "booking", booking.id, before,
                 {**audit.snapshot(booking, AUDIT_FIELDS), "note": note})
    params = {"id": booking.id, "code": booking.lab.code, "slot": _slot(booking), "note": note}
    notify_enterprise(session, booking.enterprise_id, N_("Documents received: %(code)s %(slot)s") % params,
                      (N_("The lab received the documents of booking #%(id)s. Note: %(note)s") if note else
                       N_("The lab received the documents of booking #%(id)s.")) % params, booking.id)
    return booking


def lapse_missing_documents(session: Session, now: dt.datetime | None = None) -> list[int]:
    """Scheduled: bookings whose committed documents the lab has not received by their deadline (or
    by the slot's start) lapse, with notice. Idempotent."""
    now = now or utcnow()
    overdue = session.scalars(select(Booking).options(selectinload(Booking.lab)).where(
        Booking.status.in_(domain.TRANSITIONS["lapse"].source), Booking.missing_documents != "",
        Booking.documents_received_at.is_(None), Booking.documents_due.is_not(None))
        .with_for_update()).all()  # read out before the loop writes
    lapsed = []
    for booking in overdue:
        if domain.documents_overdue(booking.documents_due, booking.starts_at, now, ZoneInfo(booking.lab.timezone)):
            _apply(session, booking, "lapsed", SYSTEM, "lapse", N_("documents not received by %(due)s: %(missing)s") % {
                "due": booking.documents_due, "missing": booking.missing_documents}, now)
            lapsed.append(booking.id)
    return lapsed


# --- a weekly series, as one thing ----------------------------------------------------------------

def series_bookings(session: Session, actor: Actor | None, series_id: str) -> list[Booking]:
    """The weeks of a series, first to last, as the actor may see them (another's series is absent)."""
    actor = require_role(actor, "admin", "lab_manager", "technician", "enterprise")
    query = select(Booking).options(selectinload(Booking.lab)).where(Booking.series_id == series_id)
    if actor.role == "enterprise":
        query = query.where(Booking.enterprise_id == actor.enterprise_id)
    elif actor.role in ("lab_manager", "technician"):
        query = query.where(Booking.lab.has(Lab.staffed_by(actor)))
    weeks = list(session.scalars(query.order_by(Booking.starts_at)))
    if not weeks:
        raise NotFound(N_("no booking series %(id)s"), code="no_series", params={"id": series_id[:40]})
    return weeks


def transition_series(session: Session, actor: Actor | None, series_id: str, action: str, note: str = "",
                      now: dt.datetime | None = None) -> list[Booking]:
    """Approve, reject or cancel every week of a series that the action still applies to (weeks
    already decided, cancelled or begun are left as they are); returns the weeks changed."""
    if action not in ("approve", "reject", "cancel"):
        raise NotFound(N_("no action %(action)s for a series"), code="no_action", params={"action": action[:40]})
    now = now or utcnow()
    weeks = series_bookings(session, actor, series_id)
    rule = domain.TRANSITIONS[action]
    changed = []
    for week in weeks:
        if week.status in rule.source and not domain.timing_problem(
                action, actor.role == "enterprise", now, week.starts_at, week.ends_at):
            changed.append(transition(session, actor, week.id, action, note, now))
    if not changed:
        raise Conflict(N_("no week of the series can be %(status)s now"), code="series_nothing_to_do",
                       params={"status": domain.STATUS_NAMES[rule.target]})
    return changed


# --- closures and hour changes: the bookings they hit ----------------------------------------------

def bookings_hit_by_closure(session: Session, actor: Actor | None, lab_id: int, start: dt.datetime,
                            end: dt.datetime) -> list[Booking]:
    """The lab's requested and approved bookings a closure of [start, end) would fall on."""
    _actor, lab = managed_lab(session, actor, lab_id)
    return list(session.scalars(select(Booking).options(selectinload(Booking.enterprise)).where(
        Booking.lab_id == lab.id, Booking.status.in_(domain.TRANSITIONS["cancel"].source),
        Booking.starts_at < end, Booking.ends_at > start).order_by(Booking.starts_at, Booking.bay)))


def bookings_hit_by_hours(session: Session, actor: Actor | None, lab_id: int, hours: list[Hours],
                          now: dt.datetime | None = None) -> list[Booking]:
    """The lab's requested and approved bookings still ahead that new opening hours would leave
    outside them."""
    _actor, lab = managed_lab(session, actor, lab_id)
    tz = ZoneInfo(lab.timezone)
    ahead = session.scalars(select(Booking).options(selectinload(Booking.enterprise)).where(
        Booking.lab_id == lab.id, Booking.status.in_(domain.TRANSITIONS["cancel"].source),
        Booking.ends_at > (now or utcnow())).order_by(Booking.starts_at, Booking.bay))
    return [b for b in ahead if not within_opening(b.starts_at, b.ends_at, hours, tz)]


def cancel_hit(session: Session, actor: Actor | None, bookings: list[Booking], reason: str,
               now: dt.datetime | None = None) -> None:
    """Cancel the bookings a closure or an hour change falls on; each enterprise is told the reason."""
    if not reason.strip():
        raise Invalid(N_("the enterprises need the reason"),
                      {"cancel_reason": [N_("give the reason the enterprises are told")]}, code="reason_required")
    for booking in bookings:
        transition(session, actor, booking.id, "cancel", reason.strip(), now)


def booking_timeline(session: Session, actor: Actor | None, booking_id: int) -> list[AuditEntry]:
    """What happened to a booking, oldest first: its audit trail."""
    booking = get_booking(session, actor, booking_id)
    return list(session.scalars(select(AuditEntry).where(
        AuditEntry.entity == "booking", AuditEntry.entity_id == booking.id).order_by(AuditEntry.id)))


def lab_bookings_between(session: Session, actor: Actor | None, lab_id: int, start: dt.datetime,
                         end: dt.datetime) -> list[Booking]:
    """A lab's bookings in every state overlapping [start, end): the lab calendar of its managers."""
    _actor, lab = managed_lab(session, actor, lab_id)
    return list(session.scalars(select(Booking).options(selectinload(Booking.enterprise)).where(
        Booking.lab_id == lab.id, Booking.starts_at < end, Booking.ends_at > start)
        .order_by(Booking.starts_at, Booking.bay)))
