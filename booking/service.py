"""Booking use cases. Each takes a session (the unit of work) and the acting user, and checks
authorization itself; the caller commits."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from booking import domain
from booking.models import Booking, WaitlistEntry
from labs import audit
from labs.accounts.models import Enterprise, User
from labs.accounts.service import SYSTEM, Actor, require_role
from labs.catalog.domain import Hours, within_opening
from labs.catalog.models import Closure, Instrument, Lab
from labs.catalog.service import get_lab, managed_lab
from labs.db import utcnow
from labs.errors import Conflict, Forbidden, Invalid, NotFound
from labs.notify import notify, notify_enterprise
from labs.workdays import add_working_days, day_kind

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
            slot.append(f"{day} is a statutory holiday ({kind.holiday_name}): the lab is closed")
        else:
            slot.append("outside the lab's opening hours on that day (holidays and weekends without "
                        "weekend service are closed)")
    if not slot:
        closure = session.scalars(select(Closure).where(
            Closure.lab_id == lab.id, Closure.starts_at < req.ends_at, Closure.ends_at > req.starts_at)).first()
        if closure is not None:
            slot.append(f"the lab is closed from {closure.starts_at.astimezone(tz):%Y-%m-%d %H:%M} to "
                        f"{closure.ends_at.astimezone(tz):%Y-%m-%d %H:%M}: {closure.reason}")
    if slot:
        errors["starts_at"] = slot
    instruments = _instruments(session, lab, req.instrument_ids, errors)
    last_day = domain.last_local_day(req.ends_at, tz)
    for inst in instruments:
        if not domain.calibration_covers(inst.calibration_valid_until, req.ends_at, tz):
            errors.setdefault("instrument_ids", []).append(
                f"instrument {inst.code} ({inst.name}) is out of calibration on {last_day}: its "
                f"certificate {inst.certificate_no or '(none)'} is valid until {inst.calibration_valid_until}")
    if req.missing_documents.strip() and not req.commitment_signed:
        errors["commitment_signed"] = ["submitting with missing documents needs the signed commitment"]
    return errors


def _instruments(session: Session, lab: Lab, ids: tuple[int, ...], errors: dict) -> list[Instrument]:
    if not ids:
        return []
    found = session.scalars(select(Instrument).where(Instrument.id.in_(ids), Instrument.lab_id == lab.id)).all()
    missing = sorted(set(ids) - {i.id for i in found})
    if missing:
        errors.setdefault("instrument_ids", []).append(f"not instruments of lab {lab.code}: {missing}")
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
    return Conflict(f"every bay of lab {lab.code} is taken at some point between {start.isoformat()} "
                    f"and {end.isoformat()}", conflicts=slots)


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
        return Conflict(f"a duplicate: your enterprise already holds booking #{duplicate} in lab {lab.code} "
                        f"for this slot", code="duplicate_booking",
                        conflicts=[{"bay": bay, "starts_at": start.isoformat(), "ends_at": end.isoformat()}])
    problem = domain.weekly_hours_problem(lab.max_weekly_hours_per_enterprise,
                                          [(b_start, b_end) for _id, b_start, b_end in held], start, end, tz)
    return Conflict(problem, code="weekly_hours_limit") if problem else None


def _lock_enterprise(session: Session, enterprise_id: int) -> None:
    """Serialise one enterprise's requests (PostgreSQL; SQLite's BEGIN IMMEDIATE does it already),
    so that two at once cannot both pass the duplicate and weekly-limit checks."""
    session.execute(select(Enterprise.id).where(Enterprise.id == enterprise_id).with_for_update())


def _is_exclusion_violation(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "23P01"


# --- making bookings ----------------------------------------------------------------------------

def _insert(session: Session, lab: Lab, requester: User, req: BookingRequest, now: dt.datetime,
            series_id: str | None = None) -> Booking:
    """Insert into a free bay. On PostgreSQL a concurrent insert may win the bay between our check
    and our insert: the exclusion constraint refuses ours, and we try the next free bay."""
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
            commitment_signed=req.commitment_signed,
        )
        today = now.astimezone(tz).date()
        if booking.status == "requested":
            booking.approval_due = add_working_days(today, lab.approval_deadline_days)
        else:
            booking.decided_at = now
        if booking.missing_documents:
            booking.documents_due = add_working_days(today, lab.document_deadline_days)
        if req.instrument_ids:
            booking.instruments = list(session.scalars(select(Instrument).where(Instrument.id.in_(req.instrument_ids))))
        try:
            with session.begin_nested():
                session.add(booking)
                session.flush()
        except IntegrityError as exc:
            if not _is_exclusion_violation(exc):
                raise
            continue
        audit.record(session, requester.id, "booking.request", "booking", booking.id, None,
                     audit.snapshot(booking, AUDIT_FIELDS))
        return booking
    raise _conflict(session, lab, req.starts_at, req.ends_at)


def request_booking(session: Session, actor: Actor | None, req: BookingRequest,
                    now: dt.datetime | None = None) -> Booking:
    actor = require_role(actor, "enterprise")
    now = now or utcnow()
    lab = get_lab(session, req.lab_id)
    errors = _problems(session, lab, req, now)
    if errors:
        raise Invalid("the booking request breaks the lab's rules", errors)
    _lock_enterprise(session, actor.enterprise_id)
    conflict = _holding_conflict(session, lab, actor.enterprise_id, req.starts_at, req.ends_at)
    if conflict is not None:
        raise conflict
    booking = _insert(session, lab, actor, req, now)
    _announce(session, booking)
    return booking


def _announce(session: Session, booking: Booking) -> None:
    lab = booking.lab
    when = _local_slot(booking)
    if booking.status == "approved":
        notify_enterprise(session, booking.enterprise_id, f"预约已批准 Booking approved: {lab.code} {when}",
                          f"Booking #{booking.id} in {lab.name}, {when}, is approved.")
    else:
        notify(session, list(lab.managers), f"待审批 Booking to approve: {lab.code} {when}",
               f"Booking #{booking.id} in {lab.name}, {when}, awaits approval by {booking.approval_due}.")


def _local_slot(booking: Booking) -> str:
    tz = ZoneInfo(booking.lab.timezone)
    return f"{booking.starts_at.astimezone(tz):%Y-%m-%d %H:%M}–{booking.ends_at.astimezone(tz):%H:%M}"


def request_series(session: Session, actor: Actor | None, req: BookingRequest, weeks: int,
                   policy: str, dry_run: bool = False, now: dt.datetime | None = None) -> dict:
    """A weekly recurring booking. Every occurrence's problem is reported; with "all_or_nothing"
    one problem refuses the series, with "skip_conflicts" the others are booked."""
    actor = require_role(actor, "enterprise")
    if policy not in ("all_or_nothing", "skip_conflicts"):
        raise Invalid("unknown policy", {"policy": ["must be all_or_nothing or skip_conflicts"]})
    if not 1 <= weeks <= 52:
        raise Invalid("invalid number of weeks", {"weeks": ["between 1 and 52"]})
    now = now or utcnow()
    lab = get_lab(session, req.lab_id)
    _lock_enterprise(session, actor.enterprise_id)
    occurrences = []
    duplicates = 0
    for start, end in domain.weekly_occurrences(req.starts_at, req.ends_at, weeks, ZoneInfo(lab.timezone)):
        one = BookingRequest(**{**req.__dict__, "starts_at": start, "ends_at": end})
        errors = _problems(session, lab, one, now)
        problem = "; ".join(m for ms in errors.values() for m in ms)
        holding = None if problem else _holding_conflict(session, lab, actor.enterprise_id, start, end)
        if holding is not None:
            problem = holding.detail
            duplicates += holding.extra["code"] == "duplicate_booking"
        if not problem and _free_bay(session, lab, start, end) is None:
            problem = "conflicts with another booking"
        occurrences.append({"request": one, "starts_at": start, "ends_at": end, "problem": problem or None})
    if duplicates == weeks and not dry_run:
        # The whole series was asked for before: refused as one duplicate, whatever the policy.
        raise Conflict(f"a duplicate: your enterprise already holds each of these {weeks} weekly slots in "
                       f"lab {lab.code}", code="duplicate_booking")
    failing = [o for o in occurrences if o["problem"]]
    report = {"series_id": None, "policy": policy, "dry_run": dry_run,
              "occurrences": [{k: o[k] for k in ("starts_at", "ends_at", "problem")} | {"booking_id": None}
                              for o in occurrences]}
    if failing and policy == "all_or_nothing" and not dry_run:
        raise Conflict(f"{len(failing)} of {weeks} occurrences cannot be booked; nothing was booked",
                       occurrences=[{"starts_at": o["starts_at"].isoformat(), "ends_at": o["ends_at"].isoformat(),
                                     "problem": o["problem"]} for o in occurrences])
    if dry_run:
        return report
    series_id = uuid.uuid4().hex
    report["series_id"] = series_id
    for o, out in zip(occurrences, report["occurrences"]):
        if o["problem"]:
            continue
        try:
            booking = _insert(session, lab, actor, o["request"], now, series_id)
        except Conflict:  # lost a race since the check
            if policy == "all_or_nothing":
                raise
            out["problem"] = "conflicts with another booking"
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
        raise Invalid("the booking request breaks the lab's rules", errors)
    if _free_bay(session, lab, req.starts_at, req.ends_at) is not None:
        raise Conflict("the slot is free: request it instead of waiting for it")
    conflict = _holding_conflict(session, lab, actor.enterprise_id, req.starts_at, req.ends_at)
    if conflict is not None:
        raise conflict
    if session.scalar(select(WaitlistEntry.id).where(
            WaitlistEntry.enterprise_id == actor.enterprise_id, WaitlistEntry.lab_id == lab.id,
            WaitlistEntry.status == "waiting", WaitlistEntry.starts_at == req.starts_at,
            WaitlistEntry.ends_at == req.ends_at)) is not None:
        raise Conflict("your enterprise is already waiting for this slot")
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
        raise NotFound(f"no waitlist entry with id {entry_id}")
    if entry.status != "waiting":
        raise Conflict(f"the waitlist entry is {entry.status}, no longer waiting")
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
        notify_enterprise(session, entry.enterprise_id, f"候补成功 Waitlist: you got {lab.code} {_local_slot(booking)}",
                          f"A slot freed up: booking #{booking.id} is now {booking.status}.")
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
        raise NotFound(f"no booking with id {booking_id}")
    # A technician sees the bookings of the labs they work in; another lab's is absent to them too.
    if actor.role == "technician" and not booking.lab.staffed_by(actor):
        raise NotFound(f"no booking with id {booking_id}")
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
        raise NotFound(f"no action {action!r}")
    rule = domain.TRANSITIONS[action]
    booking = get_booking(session, actor, booking_id, for_update=True)
    allowed = actor.role in rule.roles or (
        "owner" in rule.roles and actor.role == "enterprise" and actor.enterprise_id == booking.enterprise_id)
    if not allowed:
        raise Forbidden(f"role {actor.role!r} may not {action.replace('_', ' ')} a booking")
    now = now or utcnow()
    if booking.status not in rule.source:
        # No `status` extra: it would clash with the problem document's own HTTP status.
        raise Conflict(f"cannot {action.replace('_', ' ')} a booking that is {booking.status}")
    problem = domain.timing_problem(action, actor.role == "enterprise", now, booking.starts_at, booking.ends_at)
    if problem:
        raise Conflict(problem)
    _apply(session, booking, rule.target, actor, action, note, now)
    return booking


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
    notify_enterprise(session, booking.enterprise_id,
                      f"预约状态 Booking {target.replace('_', ' ')}: {booking.lab.code} {_local_slot(booking)}",
                      f"Booking #{booking.id} is now {target}." + (f" Note: {note}" if note else ""))
    if freed and booking.ends_at > now:
        _promote_waitlist(session, booking.lab, booking.starts_at, booking.ends_at, now)


def submit_documents(session: Session, actor: Actor | None, booking_id: int) -> Booking:
    """The enterprise delivered the documents it committed to; the booking no longer lapses."""
    actor = require_role(actor, "enterprise")
    booking = get_booking(session, actor, booking_id, for_update=True)
    if not booking.missing_documents:
        raise Conflict("this booking has no missing documents")
    # Only a booking that can still lapse takes documents; a lapsed one keeps what was missing.
    if booking.status not in domain.TRANSITIONS["lapse"].source:
        raise Conflict(f"the booking is {booking.status}: documents are no longer accepted for it")
    before = audit.snapshot(booking, AUDIT_FIELDS)
    booking.missing_documents, booking.documents_due = "", None
    session.flush()
    audit.record(session, actor.id, "booking.documents", "booking", booking.id, before,
                 audit.snapshot(booking, AUDIT_FIELDS))
    return booking


def lapse_missing_documents(session: Session, now: dt.datetime | None = None) -> list[int]:
    """Scheduled: bookings whose committed documents are overdue lapse, with notice. Idempotent."""
    now = now or utcnow()
    overdue = session.scalars(select(Booking).options(selectinload(Booking.lab)).where(
        Booking.status.in_(("requested", "approved")), Booking.missing_documents != "",
        Booking.documents_due.is_not(None)).with_for_update()).all()  # read out before the loop writes
    lapsed = []
    for booking in overdue:
        if now.astimezone(ZoneInfo(booking.lab.timezone)).date() > booking.documents_due:
            _apply(session, booking, "lapsed", SYSTEM, "lapse",
                   f"documents not delivered by {booking.documents_due}: {booking.missing_documents}", now)
            lapsed.append(booking.id)
    return lapsed


def lab_bookings_between(session: Session, actor: Actor | None, lab_id: int, start: dt.datetime,
                         end: dt.datetime) -> list[Booking]:
    """A lab's bookings in every state overlapping [start, end): the lab calendar of its managers."""
    _actor, lab = managed_lab(session, actor, lab_id)
    return list(session.scalars(select(Booking).options(selectinload(Booking.enterprise)).where(
        Booking.lab_id == lab.id, Booking.starts_at < end, Booking.ends_at > start)
        .order_by(Booking.starts_at, Booking.bay)))
