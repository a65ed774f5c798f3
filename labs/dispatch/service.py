"""Work-order use cases: plan one site's instruments on one day, assign technicians and portable
rigs, move a work order through its states, declare staffed weekend days, read a week's schedule.
Each takes a session (the unit of work) and the acting user and checks authorization itself; the
caller commits."""
from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from labs import audit, exclusive
from labs.accounts.models import User
from labs.accounts.service import Actor, require_role
from labs.dispatch import domain
from labs.dispatch.models import Assignment, StaffedWeekendDay, WorkOrder
from labs.errors import Conflict, Forbidden, Invalid, NotFound
from labs.i18n import N_, Message
from labs.services.models import ServiceRequest
from labs.verification.models import Rig, VerifiedInstrument
from labs.verification.service import local_today
from labs.workdays import DayKind, day_kind

PLANNERS = ("admin", "lab_manager")
VIEWERS = ("admin", "lab_manager", "technician")
MAX_RANGE_DAYS = 92  # what one listing may span: a quarter
ORDER_FIELDS = ("enterprise_id", "service_request_id", "site", "day", "starts_at", "ends_at", "state", "note")
DAY_PROBLEMS = {
    "statutory_holiday": N_("%(day)s is a statutory holiday (%(holiday)s): no work is planned on it"),
    "unstaffed_weekend": N_("%(day)s is a weekend day that is not staffed: declare it staffed first, or "
                            "choose a working day"),
    "not_a_weekend_day_off": N_("%(day)s is a working day: only weekend days off are declared staffed"),
}
REFUSED = {  # a transition from a state it does not start from
    "start": N_("work order #%(id)s has been started already, or is closed"),
    "finish": N_("work order #%(id)s is not in progress"),
    "cancel": N_("work order #%(id)s is done or cancelled already"),
}


def zone() -> ZoneInfo:
    """The bureau's time zone: work orders are planned in its days and wall-clock times."""
    return ZoneInfo(os.environ.get("LABS_TIMEZONE", "Asia/Shanghai"))


def _check_range(from_day: dt.date, to_day: dt.date) -> None:
    if to_day < from_day or (to_day - from_day).days >= MAX_RANGE_DAYS:
        raise Invalid(N_("choose at most %(days)s days, the first not after the last"), code="invalid_range",
                      params={"days": MAX_RANGE_DAYS}, errors={"to": [N_("at most %(days)s days after the first")]})


# --- staffed weekend days ---------------------------------------------------------------------------

def _day_refused(problem: str, day: dt.date, kind: DayKind) -> Invalid:
    # The holiday's name is chinese-calendar's English one, a msgid of the catalogs (labs.calendar).
    holiday = {"holiday": Message(kind.holiday_name)} if kind.holiday_name else {}
    return Invalid(DAY_PROBLEMS[problem], code=problem, errors={"day": [DAY_PROBLEMS[problem]]},
                   params={"day": day, **holiday})


def _is_staffed(session: Session, day: dt.date) -> bool:
    """Whether `day` is declared staffed; the row stays locked (PostgreSQL: FOR SHARE) until the
    caller commits, so it cannot be withdrawn under a work order being planned on it."""
    return session.scalar(select(StaffedWeekendDay.id).where(StaffedWeekendDay.day == day)
                          .with_for_update(read=True)) is not None


def declare_staffed_day(session: Session, actor: Actor | None, day: dt.date) -> StaffedWeekendDay:
    """Declare a weekend day off staffed (双休日检定); declaring it again changes nothing."""
    actor = require_role(actor, *PLANNERS)
    kind = day_kind(day)
    problem = domain.staffable_problem(kind, day.weekday() >= 5)
    if problem:
        raise _day_refused(problem, day, kind)
    row = session.scalar(select(StaffedWeekendDay).where(StaffedWeekendDay.day == day))
    if row is None:
        row = StaffedWeekendDay(day=day, declared_by=actor.id)
        session.add(row)
        session.flush()
        audit.record(session, actor.id, "staffed_day.declare", "staffed_weekend_day", row.id, None,
                     {"day": day.isoformat()})
    return row


def withdraw_staffed_day(session: Session, actor: Actor | None, day: dt.date) -> None:
    """A staffed weekend day is no longer staffed: refused while work orders are open on it."""
    actor = require_role(actor, *PLANNERS)
    row = session.scalar(select(StaffedWeekendDay).where(StaffedWeekendDay.day == day).with_for_update())
    if row is None:
        raise NotFound(N_("%(day)s is not declared staffed"), code="not_staffed", params={"day": day})
    session.delete(row)
    session.flush()  # deleting first takes the lock a work order being planned on the day waits for
    open_orders = session.scalars(select(WorkOrder.id).where(WorkOrder.day == day,
                                                             WorkOrder.state.in_(domain.OPEN))).all()
    if open_orders:
        raise Conflict(N_("work orders %(ids)s are planned on %(day)s: cancel or move them first"),
                       code="staffed_day_in_use", params={"ids": ", ".join(f"#{i}" for i in open_orders), "day": day})
    audit.record(session, actor.id, "staffed_day.withdraw", "staffed_weekend_day", row.id,
                 {"day": day.isoformat()}, None)


def staffed_days(session: Session, actor: Actor | None, from_day: dt.date, to_day: dt.date) -> list[dt.date]:
    require_role(actor, *VIEWERS)
    _check_range(from_day, to_day)
    return list(session.scalars(select(StaffedWeekendDay.day).where(
        StaffedWeekendDay.day >= from_day, StaffedWeekendDay.day <= to_day).order_by(StaffedWeekendDay.day)))


# --- planning -----------------------------------------------------------------------------------------

def plan_work_order(session: Session, actor: Actor | None, data: dict) -> WorkOrder:
    """A work order for one site's instruments on one day, with the technicians and rigs named in
    `technician_ids` and `rig_ids` assigned at once (all or nothing: the caller rolls back)."""
    actor = require_role(actor, *PLANNERS)
    day, errors, params = data["day"], {}, {}
    if day < local_today():
        errors["day"] = [N_("the day has passed")]
    try:
        starts_at, ends_at = domain.local_span(day, data["starts"], data["ends"], zone())
    except ValueError:
        errors["ends"] = [N_("the work ends after it starts, on the same day")]
    ids = list(dict.fromkeys(data["instrument_ids"]))
    instruments = list(session.scalars(select(VerifiedInstrument).where(VerifiedInstrument.id.in_(ids))))
    missing = sorted(set(ids) - {i.id for i in instruments})
    if missing:
        errors["instrument_ids"] = [N_("no instruments with ids %(missing)s")]
        params["missing"] = ", ".join(map(str, missing))
    elif len({i.enterprise_id for i in instruments}) > 1:
        errors["instrument_ids"] = [N_("a work order is one site's: these instruments belong to different "
                                       "enterprises")]
    elif data.get("service_request_id") is not None:
        errors.update(_request_problems(session, data["service_request_id"], ids, params))
    if errors:
        raise Invalid(N_("the work order cannot be planned as it is"), errors=errors, code="invalid_work_order",
                      params=params)
    weekend, kind = day.weekday() >= 5, day_kind(day)
    problem = domain.day_problem(kind, weekend, weekend and _is_staffed(session, day))
    if problem:
        raise _day_refused(problem, day, kind)
    order = WorkOrder(enterprise_id=instruments[0].enterprise_id, service_request_id=data.get("service_request_id"),
                      site=data["site"], day=day, starts_at=starts_at, ends_at=ends_at, state="planned",
                      note=data.get("note", ""), created_by=actor.id, instruments=instruments)
    session.add(order)
    session.flush()
    audit.record(session, actor.id, "work_order.plan", "work_order", order.id, None,
                 audit.snapshot(order, ORDER_FIELDS) | {"instrument_ids": ids})
    for technician_id in dict.fromkeys(data.get("technician_ids", ())):
        _assign(session, actor, order, technician_id=technician_id)
    for rig_id in dict.fromkeys(data.get("rig_ids", ())):
        _assign(session, actor, order, rig_id=rig_id)
    return order


def _request_problems(session: Session, request_id: int, instrument_ids: list[int], params: dict) -> dict:
    """Why a work order cannot carry out this verification request: none such, not accepted (yet or
    any more), or instruments that are not the request's."""
    request = session.get(ServiceRequest, request_id)
    params["request"] = request_id
    if request is None:
        return {"service_request_id": [N_("no verification request #%(request)s")]}
    if request.state != "accepted":
        return {"service_request_id": [N_("verification request #%(request)s is not an accepted one")]}
    theirs = {item.instrument_id for item in request.items}
    if not set(instrument_ids) <= theirs:
        return {"instrument_ids": [N_("only the instruments of verification request #%(request)s")]}
    return {}


# --- assignments ------------------------------------------------------------------------------------

def _holding(session: Session, holder, start: dt.datetime, end: dt.datetime) -> list[Assignment]:
    """The active assignments of one technician or rig (`holder` is the SQL condition) meeting the span."""
    return list(session.scalars(select(Assignment).options(selectinload(Assignment.work_order)).where(
        holder, Assignment.active, exclusive.overlapping(Assignment.starts_at, Assignment.ends_at, start, end))
        .order_by(Assignment.starts_at)))


def _busy(order: WorkOrder, name: str, technician: bool, in_the_way: list[Assignment]) -> Conflict:
    if any(a.work_order_id == order.id for a in in_the_way):
        return Conflict(N_("%(name)s is already on work order #%(id)s"), code="already_assigned",
                        params={"name": name, "id": order.id})
    others = [{"work_order_id": a.work_order_id, "site": a.work_order.site, "starts_at": a.starts_at.isoformat(),
               "ends_at": a.ends_at.isoformat()} for a in in_the_way]
    message = (N_("technician %(name)s is on work order #%(other)s at %(site)s at that time") if technician
               else N_("rig %(name)s is on work order #%(other)s at %(site)s at that time"))
    first = in_the_way[0].work_order if in_the_way else None  # none: the winner of a race was undone since
    return Conflict(message, code="technician_busy" if technician else "rig_busy", conflicts=others,
                    params={"name": name, "other": first.id if first else "?", "site": first.site if first else "?"})


def _assign(session: Session, actor: Actor, order: WorkOrder, technician_id: int | None = None,
            rig_id: int | None = None) -> Assignment:
    if order.state not in domain.OPEN:
        raise Conflict(N_("work order #%(id)s is closed: nobody is assigned to it any more"),
                       code="work_order_closed", params={"id": order.id})
    if technician_id is not None:
        technician = session.get(User, technician_id)
        if technician is None or technician.role != "technician" or not technician.active:
            raise Invalid(N_("not an active technician"), code="not_a_technician", params={"id": technician_id},
                          errors={"technician_id": [N_("no active technician with id %(id)s")]})
        holder, name = Assignment.technician_id == technician_id, technician.name or technician.email
    else:
        rig = session.get(Rig, rig_id)
        if rig is None or not rig.active:
            raise Invalid(N_("not a rig in service"), code="not_a_rig", params={"id": rig_id},
                          errors={"rig_id": [N_("no rig in service with id %(id)s")]})
        if not rig.portable:
            raise Invalid(N_("rig %(code)s stays in its lab: only portable rigs go to sites"), code="rig_not_portable",
                          params={"code": rig.code}, errors={"rig_id": [N_("not a portable rig")]})
        if rig.standard_valid_until < order.day:
            raise Invalid(N_("the reference standard of rig %(code)s is valid until %(until)s, before the work order's day"),
                          code="rig_standard_expired", params={"code": rig.code, "until": rig.standard_valid_until},
                          errors={"rig_id": [N_("its reference standard has expired by then")]})
        holder, name = Assignment.rig_id == rig_id, rig.code
    # Look first, for a clear answer (and on SQLite, where BEGIN IMMEDIATE keeps other writers out
    # until we commit, for correctness); on PostgreSQL the exclusion constraint has the last word.
    in_the_way = _holding(session, holder, order.starts_at, order.ends_at)
    row = Assignment(work_order_id=order.id, technician_id=technician_id, rig_id=rig_id, starts_at=order.starts_at,
                     ends_at=order.ends_at, active=True, assigned_by=actor.id)
    if in_the_way or not exclusive.insert_exclusive(session, row):
        raise _busy(order, name, technician_id is not None,
                    in_the_way or _holding(session, holder, order.starts_at, order.ends_at))
    session.expire(order, ["assignments"])
    audit.record(session, actor.id, "work_order.assign", "work_order", order.id, None,
                 {"assignment_id": row.id, "technician_id": technician_id, "rig_id": rig_id})
    return row


def assign(session: Session, actor: Actor | None, work_order_id: int, technician_id: int | None = None,
           rig_id: int | None = None) -> Assignment:
    """Put one technician or one portable rig on a work order, for its whole span."""
    actor = require_role(actor, *PLANNERS)
    if (technician_id is None) == (rig_id is None):
        raise Invalid(N_("name a technician or a rig"), code="technician_or_rig",
                      errors={"technician_id": [N_("give technician_id or rig_id, not both")]})
    return _assign(session, actor, get_work_order(session, actor, work_order_id, for_update=True),
                   technician_id=technician_id, rig_id=rig_id)


def unassign(session: Session, actor: Actor | None, work_order_id: int, assignment_id: int) -> Assignment:
    """Take a technician or rig off a work order: free for other work at that time."""
    actor = require_role(actor, *PLANNERS)
    order = get_work_order(session, actor, work_order_id, for_update=True)
    row = session.get(Assignment, assignment_id)
    if row is None or row.work_order_id != order.id or not row.active:
        raise NotFound(N_("no assignment %(id)s on this work order"), code="no_assignment", params={"id": assignment_id})
    if order.state not in domain.OPEN:
        raise Conflict(N_("work order #%(id)s is closed: nobody is assigned to it any more"),
                       code="work_order_closed", params={"id": order.id})
    row.active = False
    session.flush()
    audit.record(session, actor.id, "work_order.unassign", "work_order", order.id,
                 {"assignment_id": row.id, "active": True}, {"assignment_id": row.id, "active": False})
    return row


# --- states ---------------------------------------------------------------------------------------

def transition(session: Session, actor: Actor | None, work_order_id: int, action: str) -> WorkOrder:
    """start and finish: a planner or a technician on the work order; cancel: a planner. A cancelled
    work order frees its technicians and rigs."""
    if action not in domain.TRANSITIONS:
        raise NotFound(N_("no action %(action)s"), code="no_action", params={"action": action})
    actor = require_role(actor, *VIEWERS)
    order = get_work_order(session, actor, work_order_id, for_update=True)
    if action == "cancel" and actor.role not in PLANNERS:
        raise Forbidden(N_("only a lab manager or an administrator cancels a work order"), code="forbidden_role")
    rule = domain.TRANSITIONS[action]
    if order.state not in rule.source:
        raise Conflict(REFUSED[action], code="invalid_transition", params={"id": order.id})
    before = audit.snapshot(order, ORDER_FIELDS)
    order.state = rule.target
    if rule.target == "cancelled":
        for row in order.assignments:
            row.active = False
    session.flush()
    audit.record(session, actor.id, f"work_order.{action}", "work_order", order.id, before,
                 audit.snapshot(order, ORDER_FIELDS))
    return order


# --- reading ----------------------------------------------------------------------------------------

def _loaded(query):
    return query.options(selectinload(WorkOrder.instruments), selectinload(WorkOrder.enterprise),
                         selectinload(WorkOrder.assignments).selectinload(Assignment.technician),
                         selectinload(WorkOrder.assignments).selectinload(Assignment.rig))


def _assigned_to(technician_id: int):
    return WorkOrder.assignments.any((Assignment.technician_id == technician_id) & Assignment.active)


def get_work_order(session: Session, actor: Actor | None, work_order_id: int, for_update: bool = False) -> WorkOrder:
    """Planners see every work order; a technician those they are on (another's is absent to them)."""
    actor = require_role(actor, *VIEWERS)
    query = select(WorkOrder).where(WorkOrder.id == work_order_id)
    if actor.role == "technician":
        query = query.where(_assigned_to(actor.id))
    order = session.scalar(query.with_for_update() if for_update else _loaded(query))
    if order is None:
        raise NotFound(N_("no work order #%(id)s"), code="no_work_order", params={"id": work_order_id})
    return order


def list_work_orders(session: Session, actor: Actor | None, from_day: dt.date, to_day: dt.date,
                     state: str | None = None) -> list[WorkOrder]:
    """Work orders from `from_day` to `to_day` (inclusive): a technician's own, every one for planners."""
    actor = require_role(actor, *VIEWERS)
    _check_range(from_day, to_day)
    query = select(WorkOrder).where(WorkOrder.day >= from_day, WorkOrder.day <= to_day)
    if actor.role == "technician":
        query = query.where(_assigned_to(actor.id))
    if state is not None:
        query = query.where(WorkOrder.state == state)
    return list(session.scalars(_loaded(query).order_by(WorkOrder.starts_at, WorkOrder.id)))


def work_orders_for(session: Session, technician: User, from_day: dt.date, to_day: dt.date) -> list[WorkOrder]:
    """A technician's open work orders in the days given, with their instruments (and owners), site
    and rigs loaded: what their laptop takes along (labs.field)."""
    require_role(technician, "technician")
    _check_range(from_day, to_day)
    return list(session.scalars(_loaded(select(WorkOrder).where(
        WorkOrder.day >= from_day, WorkOrder.day <= to_day, WorkOrder.state.in_(domain.OPEN),
        _assigned_to(technician.id))).order_by(WorkOrder.starts_at, WorkOrder.id)))


def technicians(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.role == "technician", User.active).order_by(User.name, User.id)))


def portable_rigs(session: Session) -> list[Rig]:
    return list(session.scalars(select(Rig).where(Rig.portable, Rig.active).order_by(Rig.code)))


def week_schedule(session: Session, actor: Actor | None, monday: dt.date) -> dict:
    """A week's work orders per technician and per portable rig: a row for each (the active ones,
    and any other holding work that week), a cell per day with the open or done work orders
    holding them that day."""
    require_role(actor, *PLANNERS)
    days = domain.week_days(monday)
    orders = list_work_orders(session, actor, days[0], days[-1])
    rows: dict[tuple[str, int], dict] = {}
    for technician in technicians(session):
        rows[("technician", technician.id)] = {"technician": technician, "rig": None, "cells": [[] for _ in days]}
    for rig in portable_rigs(session):
        rows[("rig", rig.id)] = {"technician": None, "rig": rig, "cells": [[] for _ in days]}
    for order in orders:
        for a in order.assignments:
            if a.active:
                key = ("technician", a.technician_id) if a.technician_id else ("rig", a.rig_id)
                row = rows.setdefault(key, {"technician": a.technician, "rig": a.rig, "cells": [[] for _ in days]})
                row["cells"][days.index(order.day)].append(order)
    return {"days": days, "staffed": staffed_days(session, actor, days[0], days[-1]),
            "rows": sorted(rows.values(), key=_row_order)}


def _row_order(row: dict) -> tuple:
    """Technicians by name first, then rigs by code."""
    if row["rig"] is not None:
        return (1, row["rig"].code, row["rig"].id)
    return (0, row["technician"].name, row["technician"].id)
