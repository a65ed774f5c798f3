"""Verification as a service: requests by enterprises, their clock in working days, their steps as the
requester sees them, the public monthly figures, and the taxi-meter queue. Each use case takes a
session (the unit of work) and the acting user and checks authorization itself; the caller commits.

A request concludes the moment its last instrument has its certificate or notice of failure: the
verification service calls `on_certificate` (registered in labs.services' __init__) when a run
concludes, so labs.verification does not import this package.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from labs import audit, chain
from labs.accounts.models import User
from labs.accounts.service import require_role
from labs.db import utcnow
from labs.errors import Conflict, Invalid, NotFound, TooManyAttempts
from labs.i18n import N_
from labs.services import domain
from labs.services.models import (MODES, PAUSE_REASONS, Pause, RequestInstrument, ServiceRequest, ServiceSetting,
                                  Step, TaxiTicket)
from labs.verification import service as verification
from labs.verification.models import Certificate, Rig, Verification, VerifiedInstrument
from labs.workdays import add_working_days, day_kind

DECIDERS = ("admin", "lab_manager")  # accept or refuse a request
CLERKS = ("admin", "lab_manager", "technician")  # pause and resume its clock, start its runs, run the queue
STAFF = verification.STAFF
ADDRESS_MODES = ("on_site", "pickup")  # the technicians go to the enterprise's address
DEFAULT_ACCEPTANCE_DAYS, DEFAULT_CONCLUSION_DAYS = 1, 5
DOCUMENT_DAYS = 5  # working days to deliver documents promised under the commitment (容缺受理)
MAX_INSTRUMENTS, MAX_PREFERRED_DATES = 50, 3
TICKETS_PER_HOUR = 3  # per client address
PLATE = re.compile(r"^[\u4e00-\u9fff][A-Z][A-Z0-9]{5,6}$")  # 京B12345, and new-energy 京AD12345


def _step(session: Session, request: ServiceRequest, kind: str, actor: User | None, now: dt.datetime,
          **detail) -> Step:
    name = (actor.name or actor.email) if isinstance(actor, User) else ""
    return chain.append(session, Step(request_id=request.id, kind=kind, actor_id=actor.id if isinstance(actor, User)
                                      else None, actor_name=name, detail=detail, at=now))


def today() -> dt.date:
    return local_day(utcnow())


def local_day(now: dt.datetime) -> dt.date:
    """The day `now` falls on where the service is (LABS_TIMEZONE): the clock counts those days."""
    return now.astimezone(ZoneInfo(os.environ.get("LABS_TIMEZONE", "Asia/Shanghai"))).date()


# --- services and their deadlines -------------------------------------------------------------------

def settings(session: Session) -> dict[str, ServiceSetting]:
    """Every service with its deadlines; a service never configured has the defaults."""
    have = {s.mode: s for s in session.scalars(select(ServiceSetting))}
    return {mode: have.get(mode) or ServiceSetting(mode=mode, acceptance_days=DEFAULT_ACCEPTANCE_DAYS,
                                                   conclusion_days=DEFAULT_CONCLUSION_DAYS, active=True)
            for mode in MODES}


def configure_service(session: Session, actor: User | None, mode: str, data: dict) -> ServiceSetting:
    """Set a service's deadlines or close it to new requests; requests made before keep theirs."""
    require_role(actor, "admin")
    if mode not in MODES:
        raise NotFound(N_("no service %(mode)s"), code="service_unknown", params={"mode": mode})
    setting = session.get(ServiceSetting, mode)
    if setting is None:
        setting = ServiceSetting(mode=mode, acceptance_days=DEFAULT_ACCEPTANCE_DAYS,
                                 conclusion_days=DEFAULT_CONCLUSION_DAYS, active=True)
        session.add(setting)
    before = audit.snapshot(setting, ("acceptance_days", "conclusion_days", "active"))
    for name in ("acceptance_days", "conclusion_days", "active"):
        if name in data:
            setattr(setting, name, data[name])
    if setting.acceptance_days > setting.conclusion_days:
        raise Invalid(N_("a request is accepted before it is concluded"), code="service_days_order",
                      errors={"acceptance_days": [N_("at most the days to conclude")]})
    setting.updated_at = utcnow()
    session.flush()
    audit.record(session, actor.id, "service.configure", "service_setting", 0, before,
                 {"mode": mode, **audit.snapshot(setting, ("acceptance_days", "conclusion_days", "active"))})
    return setting


# --- requests -----------------------------------------------------------------------------------------

def submit_request(session: Session, actor: User | None, data: dict,
                   now: dt.datetime | None = None) -> ServiceRequest:
    """An enterprise asks for its registered instruments to be verified in one of the services."""
    require_role(actor, "enterprise")
    now = now or utcnow()
    mode = data["mode"]
    setting = settings(session).get(mode)
    errors: dict[str, list[str]] = {}
    if setting is None or not setting.active:
        errors["mode"] = [N_("this service takes no requests now")]
    if mode in ADDRESS_MODES and not data.get("address", "").strip():
        errors["address"] = [N_("the address where the instruments are is needed for this service")]
    day = local_day(now)
    dates = data.get("preferred_dates") or []
    if len(dates) > MAX_PREFERRED_DATES or len(set(dates)) != len(dates):
        errors["preferred_dates"] = [N_("up to three different dates")]
    elif any(d <= day for d in dates):
        errors["preferred_dates"] = [N_("dates after today")]
    elif mode == "weekend" and any(day_kind(d).working for d in dates):
        errors["preferred_dates"] = [N_("weekend verification is on days off: choose Saturdays, Sundays or holidays")]
    if data.get("missing_documents", "").strip() and not data.get("commitment_signed"):
        errors["commitment_signed"] = [N_("submitting with missing documents needs the signed commitment")]
    ids = list(dict.fromkeys(data.get("instrument_ids") or []))
    instruments = list(session.scalars(select(VerifiedInstrument).where(
        VerifiedInstrument.id.in_(ids), VerifiedInstrument.enterprise_id == actor.enterprise_id))) if ids else []
    if not ids or len(ids) > MAX_INSTRUMENTS:
        errors["instrument_ids"] = [N_("choose one to fifty of your registered instruments")]
    elif len(instruments) != len(ids):
        errors["instrument_ids"] = [N_("choose among your own registered instruments")]
    elif mode == "taxi_at_once" and any(i.kind != "taxi_meter" for i in instruments):
        errors["instrument_ids"] = [N_("taxi meters only in this service")]
    if errors:
        raise Invalid(N_("the request is incomplete"), code="service_request_invalid", errors=errors)
    # Held until commit, so two requests for one instrument cannot both see it free (SQLite's writes
    # are one at a time already); the lock is the steps' chain, which every change appends to anyway.
    chain.lock(session, Step)
    busy = session.scalar(select(VerifiedInstrument.serial_number).join(RequestInstrument).join(ServiceRequest).where(
        RequestInstrument.instrument_id.in_(ids), RequestInstrument.certificate_id.is_(None),
        ServiceRequest.state.in_(("requested", "accepted"))).limit(1))
    if busy is not None:
        raise Conflict(N_("instrument %(serial)s is in an open request already"), code="service_instrument_busy",
                       params={"serial": busy})
    request = ServiceRequest(
        enterprise_id=actor.enterprise_id, requested_by=actor.id, mode=mode,
        address=data.get("address", "").strip(), preferred_dates=[d.isoformat() for d in dates],
        contact_name=data["contact_name"], contact_phone=data["contact_phone"], note=data.get("note", ""),
        missing_documents=data.get("missing_documents", "").strip(),
        commitment_signed=bool(data.get("commitment_signed")), state="requested",
        acceptance_days=setting.acceptance_days, conclusion_days=setting.conclusion_days, paused_days=0,
        submitted_at=now, submitted_on=day)
    if request.missing_documents:
        request.documents_due = add_working_days(day, DOCUMENT_DAYS)
    request.items = [RequestInstrument(instrument=i) for i in instruments]
    session.add(request)
    session.flush()
    _step(session, request, "requested", actor, now, mode=mode, instruments=[i.serial_number for i in instruments],
          missing_documents=request.missing_documents)
    return request


def _visible(actor: User, request: ServiceRequest) -> bool:
    return actor.role != "enterprise" or request.enterprise_id == actor.enterprise_id


def get_request(session: Session, actor: User | None, request_id: int) -> ServiceRequest:
    require_role(actor, *STAFF, "enterprise")
    request = session.get(ServiceRequest, request_id)
    # Another enterprise's request is not found rather than forbidden: its existence is private too.
    if request is None or not _visible(actor, request):
        raise NotFound(N_("no request %(id)s"), code="service_request_unknown", params={"id": request_id})
    return request


def list_requests(session: Session, actor: User | None, state: str | None = None,
                  limit: int = 200) -> list[ServiceRequest]:
    """Staff see every request; an enterprise its own. Newest first."""
    require_role(actor, *STAFF, "enterprise")
    query = select(ServiceRequest).options(selectinload(ServiceRequest.enterprise), selectinload(ServiceRequest.pauses),
                                           selectinload(ServiceRequest.items))
    if actor.role == "enterprise":
        query = query.where(ServiceRequest.enterprise_id == actor.enterprise_id)
    if state:
        query = query.where(ServiceRequest.state == state)
    return list(session.scalars(query.order_by(ServiceRequest.id.desc()).limit(limit)))


def steps_of(session: Session, actor: User | None, request_id: int) -> list[Step]:
    request = get_request(session, actor, request_id)
    return list(session.scalars(select(Step).where(Step.request_id == request.id).order_by(Step.id)))


def open_pause(request: ServiceRequest) -> Pause | None:
    return next((p for p in request.pauses if p.ended_at is None), None)


def clock(request: ServiceRequest) -> dict:
    """The request's deadlines as they stand: moved by the ended pauses; none while paused (the
    clock stands still, so the dates are not known until it runs again)."""
    paused = open_pause(request)
    conclusion_due = None if paused else domain.deadline(request.submitted_on, request.conclusion_days,
                                                         request.paused_days)
    out = {"paused_since": paused.started_at if paused else None,
           "pause_reason": paused.reason if paused else None,
           "acceptance_due": None if paused or request.state != "requested" else
           domain.deadline(request.submitted_on, request.acceptance_days, request.paused_days),
           "conclusion_due": conclusion_due, "paused_days": request.paused_days,
           "on_time": None, "working_days_taken": None}
    if request.concluded_on is not None:
        out["on_time"] = request.concluded_on <= conclusion_due
        out["working_days_taken"] = domain.working_days_taken(request.submitted_on, request.concluded_on,
                                                              request.paused_days)
    return out


# Why an act does not fit the request's state, per act.
OUT_OF_STATE = {"accept": N_("the request has been decided already"),
                "refuse": N_("the request has been decided already"),
                "pause": N_("the request is closed"), "documents": N_("the request is closed"),
                "run": N_("only the instruments of an accepted request are verified")}


def _in_state(request: ServiceRequest, act: str) -> None:
    if request.state not in domain.TRANSITIONS[act]:
        raise Conflict(OUT_OF_STATE[act], code="service_request_state", params={"state": request.state})


def accept_request(session: Session, actor: User | None, request_id: int,
                   now: dt.datetime | None = None) -> ServiceRequest:
    require_role(actor, *DECIDERS)
    now = now or utcnow()
    request = get_request(session, actor, request_id)
    _in_state(request, "accept")
    request.state, request.decided_at, request.decided_on = "accepted", now, local_day(now)
    _step(session, request, "accepted", actor, now)
    _conclude_if_settled(session, request, now)
    return request


def refuse_request(session: Session, actor: User | None, request_id: int, reason: str,
                   now: dt.datetime | None = None) -> ServiceRequest:
    """Refused with a reason the enterprise reads; a refusal ends the request (and its clock)."""
    require_role(actor, *DECIDERS)
    now = now or utcnow()
    request = get_request(session, actor, request_id)
    _in_state(request, "refuse")
    _end_pause(session, request, actor, now)
    request.state, request.refusal_reason = "refused", reason
    request.decided_at, request.decided_on = now, local_day(now)
    _step(session, request, "refused", actor, now, reason=reason)
    return request


def pause_clock(session: Session, actor: User | None, request_id: int, reason: str, note: str = "",
                now: dt.datetime | None = None) -> Pause:
    """Stop the clock while the bureau waits for the enterprise: for documents it promised, or
    because it cannot receive the technicians. Nothing else stops it."""
    require_role(actor, *CLERKS)
    now = now or utcnow()
    request = get_request(session, actor, request_id)
    _in_state(request, "pause")
    if reason not in PAUSE_REASONS:
        raise Invalid(N_("the clock stops only while waiting for the enterprise"), code="service_pause_reason",
                      errors={"reason": [N_("missing documents or the enterprise unavailable")]})
    if reason == "missing_documents" and not request.missing_documents:
        raise Conflict(N_("the request lacks no documents"), code="service_no_missing_documents")
    if open_pause(request) is not None:
        raise Conflict(N_("the clock is stopped already"), code="service_paused_already")
    return _pause(session, request, actor, reason, note, now)


def _pause(session: Session, request: ServiceRequest, actor: User | None, reason: str, note: str,
           now: dt.datetime) -> Pause:
    pause = Pause(request=request, reason=reason, note=note, started_at=now, started_on=local_day(now),
                  started_by=actor.id if isinstance(actor, User) else None)
    session.add(pause)
    session.flush()
    _step(session, request, "paused", actor, now, reason=reason, note=note)
    return pause


def stop_clocks_for_overdue_documents(session: Session, now: dt.datetime | None = None) -> list[int]:
    """Scheduled: documents promised under the commitment and not in by their day stop the clock
    from the day after: the bureau waits for the enterprise. A stopped clock is left as it is, so
    running this again changes nothing. The requests stopped."""
    now = now or utcnow()
    overdue = session.scalars(select(ServiceRequest).options(selectinload(ServiceRequest.pauses)).where(
        ServiceRequest.state.in_(domain.TRANSITIONS["pause"]), ServiceRequest.missing_documents != "",
        ServiceRequest.documents_due < local_day(now))).all()
    stopped = []
    for request in overdue:
        if open_pause(request) is None:
            _pause(session, request, None, "missing_documents", "", now)
            stopped.append(request.id)
    return stopped


def _end_pause(session: Session, request: ServiceRequest, actor: User | None, now: dt.datetime) -> Pause | None:
    pause = open_pause(request)
    if pause is None:
        return None
    pause.ended_at, pause.ended_on = now, local_day(now)
    pause.ended_by = actor.id if isinstance(actor, User) else None
    pause.working_days = domain.working_days_between(pause.started_on, pause.ended_on)
    request.paused_days += pause.working_days
    session.flush()
    _step(session, request, "resumed", actor, now, reason=pause.reason, working_days=pause.working_days)
    return pause


def resume_clock(session: Session, actor: User | None, request_id: int,
                 now: dt.datetime | None = None) -> ServiceRequest:
    require_role(actor, *CLERKS)
    now = now or utcnow()
    request = get_request(session, actor, request_id)
    if _end_pause(session, request, actor, now) is None:
        raise Conflict(N_("the clock is running"), code="service_not_paused")
    _conclude_if_settled(session, request, now)
    return request


def deliver_documents(session: Session, actor: User | None, request_id: int,
                      now: dt.datetime | None = None) -> ServiceRequest:
    """The documents promised under the commitment are in: the promise is kept, and a clock
    stopped for them runs again."""
    require_role(actor, *CLERKS, "enterprise")
    now = now or utcnow()
    request = get_request(session, actor, request_id)
    if not request.missing_documents:
        raise Conflict(N_("the request lacks no documents"), code="service_no_missing_documents")
    _in_state(request, "documents")
    _step(session, request, "documents_delivered", actor, now, documents=request.missing_documents)
    request.missing_documents, request.documents_due = "", None
    pause = open_pause(request)
    if pause is not None and pause.reason == "missing_documents":
        _end_pause(session, request, actor, now)
    _conclude_if_settled(session, request, now)
    return request


def start_run(session: Session, actor: User | None, request_id: int, instrument_id: int, rig_id: int,
              nozzle: int | None = None) -> Verification:
    """Queue the run of one of an accepted request's instruments on a rig (the runner, or the
    technician's laptop on site, executes it)."""
    require_role(actor, *CLERKS)
    request = get_request(session, actor, request_id)
    _in_state(request, "run")
    item = next((i for i in request.items if i.instrument_id == instrument_id), None)
    if item is None:
        raise Invalid(N_("not an instrument of this request"), code="service_request_instrument",
                      errors={"instrument_id": [N_("not an instrument of this request")]})
    if item.certificate_id is not None:
        raise Conflict(N_("instrument %(serial)s is settled already"), code="service_instrument_settled",
                       params={"serial": item.instrument.serial_number})
    run = verification.request_verification(session, actor, instrument_id, rig_id, nozzle=nozzle)
    _step(session, request, "run_queued", actor, utcnow(), instrument=item.instrument.serial_number,
          rig=run.rig.code, verification_id=run.id)
    return run


def on_certificate(session: Session, certificate: Certificate) -> None:
    """A run concluded: its certificate or notice settles the instrument in the open requests that
    wait for it, and a request with every instrument settled concludes at once."""
    run = certificate.result.verification
    items = session.scalars(select(RequestInstrument).join(ServiceRequest).where(
        RequestInstrument.instrument_id == run.instrument_id, RequestInstrument.certificate_id.is_(None),
        ServiceRequest.state == "accepted")).all()
    for item in items:
        item.certificate_id = certificate.id
        session.flush()
        _step(session, item.request, "certificate_issued", run.technician, certificate.at,
              instrument=run.instrument.serial_number, number=certificate.number, result=certificate.kind)
        _conclude_if_settled(session, item.request, certificate.at)


def _conclude_if_settled(session: Session, request: ServiceRequest, now: dt.datetime) -> None:
    """Concluded the moment it is in order: accepted, every instrument settled, the clock running."""
    if request.state != "accepted" or open_pause(request) is not None:
        return
    if any(i.certificate_id is None for i in request.items):
        return
    request.state, request.concluded_at, request.concluded_on = "concluded", now, local_day(now)
    session.flush()
    figures = clock(request)
    _step(session, request, "concluded", None, now, on_time=figures["on_time"],
          working_days=figures["working_days_taken"])


def certificates_of(session: Session, request: ServiceRequest) -> dict[int, Certificate]:
    ids = [i.certificate_id for i in request.items if i.certificate_id]
    return {c.id: c for c in session.scalars(select(Certificate).where(Certificate.id.in_(ids)))} if ids else {}


# --- in public view -------------------------------------------------------------------------------

def figures_version(session: Session) -> int:
    """What the public figures depend on, in one number: every change of a request writes a step, and
    steps are appended under the chain's lock in the order they commit, so the newest step's id
    names the state of every request."""
    return session.scalar(select(func.max(Step.id))) or 0


def month_figures(session: Session, month: dt.date) -> list[domain.MonthFigures]:
    """Per service, the requests made in the month (by the lab's calendar): how many, how many
    concluded on time, the mean working days taken. Counts only, nothing about who asked."""
    first = month.replace(day=1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    in_month = (ServiceRequest.submitted_on >= first) & (ServiceRequest.submitted_on < after)
    made = dict(session.execute(select(ServiceRequest.mode, func.count()).where(in_month)
                                .group_by(ServiceRequest.mode)).all())
    concluded = []
    for mode, submitted_on, concluded_on, days, paused in session.execute(
            select(ServiceRequest.mode, ServiceRequest.submitted_on, ServiceRequest.concluded_on,
                   ServiceRequest.conclusion_days, ServiceRequest.paused_days)
            .where(in_month, ServiceRequest.state == "concluded")):
        due = domain.deadline(submitted_on, days, paused)
        concluded.append(domain.Concluded(mode, concluded_on <= due,
                                          domain.working_days_taken(submitted_on, concluded_on, paused)))
    return domain.month_figures(MODES, made, concluded)




# --- taxi meters at once: the queue -------------------------------------------------------------------

def _keyed(key: str, text: str) -> str:
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def take_ticket(session: Session, key: str, plate_number: str, meter_serial: str, client_address: str) -> TaxiTicket:
    """A driver takes the next number of the day, without an account; the ticket's link carries an
    unguessable token. An address takes a few numbers an hour at most."""
    plate = re.sub(r"[\s·.-]", "", plate_number).upper()
    if not PLATE.fullmatch(plate):
        raise Invalid(N_("not a plate number"), code="taxi_plate",
                      errors={"plate_number": [N_("a plate number such as 京B12345")]})
    address_hash = _keyed(key, f"taxi:{client_address}")
    chain.lock(session, TaxiTicket)  # one number each and a true count, on PostgreSQL too
    recent = session.scalar(select(func.count()).select_from(TaxiTicket).where(
        TaxiTicket.address_hash == address_hash, TaxiTicket.created_at > utcnow() - dt.timedelta(hours=1)))
    if recent >= TICKETS_PER_HOUR:
        raise TooManyAttempts(N_("at most %(n)s numbers an hour from one address; try again later"),
                              code="taxi_too_many", params={"n": TICKETS_PER_HOUR}, retry_after=3600)
    day = today()
    number = (session.scalar(select(func.max(TaxiTicket.number)).where(TaxiTicket.day == day)) or 0) + 1
    instrument = session.scalar(select(VerifiedInstrument).where(VerifiedInstrument.kind == "taxi_meter",
                                                                 VerifiedInstrument.serial_number == meter_serial))
    ticket = TaxiTicket(day=day, number=number, token=secrets.token_urlsafe(24), plate_number=plate,
                        meter_serial=meter_serial, address_hash=address_hash, state="waiting",
                        instrument_id=instrument.id if instrument else None, created_at=utcnow())
    session.add(ticket)
    session.flush()
    return ticket


def ticket_by_token(session: Session, token: str) -> TaxiTicket:
    ticket = session.scalar(select(TaxiTicket).where(TaxiTicket.token == token[:64]))
    if ticket is None:
        raise NotFound(N_("no such ticket"), code="taxi_ticket_unknown")
    return ticket


def ticket_status(session: Session, ticket: TaxiTicket) -> dict:
    """What the driver sees: their place in the queue, then the run, then the certificate or notice."""
    ahead = None
    if ticket.state == "waiting":
        ahead = session.scalar(select(func.count()).select_from(TaxiTicket).where(
            TaxiTicket.day == ticket.day, TaxiTicket.state == "waiting", TaxiTicket.number < ticket.number))
    run = session.get(Verification, ticket.verification_id) if ticket.verification_id else None
    certificate = verification.certificate_of(session, verification.result_of(session, run.id)) if run else None
    return {"number": ticket.number, "day": ticket.day, "state": ticket.state, "ahead": ahead,
            "plate_number": ticket.plate_number, "run_state": run.state if run else None,
            "certificate_number": certificate.number if certificate else None,
            "certificate_kind": certificate.kind if certificate else None}


def queue(session: Session, actor: User | None, day: dt.date | None = None) -> list[TaxiTicket]:
    require_role(actor, *CLERKS)
    return list(session.scalars(select(TaxiTicket).where(TaxiTicket.day == (day or today()))
                                .order_by(TaxiTicket.number)))


def _ticket(session: Session, ticket_id: int) -> TaxiTicket:
    ticket = session.get(TaxiTicket, ticket_id)
    if ticket is None:
        raise NotFound(N_("no such ticket"), code="taxi_ticket_unknown")
    return ticket


def call_next(session: Session, actor: User | None) -> TaxiTicket:
    """Call the lowest waiting number of the day to the rig."""
    require_role(actor, *CLERKS)
    ticket = session.scalar(select(TaxiTicket).where(TaxiTicket.day == today(), TaxiTicket.state == "waiting")
                            .order_by(TaxiTicket.number).limit(1).with_for_update())
    if ticket is None:
        raise Conflict(N_("nobody is waiting"), code="taxi_queue_empty")
    ticket.state, ticket.called_at, ticket.called_by = "called", utcnow(), actor.id
    session.flush()
    return ticket


def start_ticket_run(session: Session, actor: User | None, ticket_id: int, rig_id: int) -> Verification:
    """The called driver's meter on a TMR rig; the meter is one registered for verification."""
    require_role(actor, *CLERKS)
    ticket = _ticket(session, ticket_id)
    if ticket.state != "called":
        raise Conflict(N_("ticket %(number)s is not the one called"), code="taxi_ticket_state",
                       params={"number": ticket.number})
    if ticket.instrument_id is None:
        ticket.instrument_id = session.scalar(select(VerifiedInstrument.id).where(
            VerifiedInstrument.kind == "taxi_meter", VerifiedInstrument.serial_number == ticket.meter_serial))
    if ticket.instrument_id is None:
        raise Conflict(N_("meter %(serial)s is not registered: register it first"), code="taxi_meter_unknown",
                       params={"serial": ticket.meter_serial})
    run = verification.request_verification(session, actor, ticket.instrument_id, rig_id)
    ticket.state, ticket.verification_id = "running", run.id
    session.flush()
    return run


def skip_ticket(session: Session, actor: User | None, ticket_id: int) -> TaxiTicket:
    """The called driver is not there."""
    require_role(actor, *CLERKS)
    ticket = _ticket(session, ticket_id)
    if ticket.state != "called":
        raise Conflict(N_("ticket %(number)s is not the one called"), code="taxi_ticket_state",
                       params={"number": ticket.number})
    ticket.state = "no_show"
    session.flush()
    return ticket


def taxi_rigs(session: Session, actor: User | None) -> list[Rig]:
    require_role(actor, *CLERKS)
    return list(session.scalars(select(Rig).where(Rig.kind == "tmr", Rig.active).order_by(Rig.code)))

