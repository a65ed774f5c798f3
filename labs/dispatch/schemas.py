"""The marshmallow schemas the dispatch API and its pages share."""
from __future__ import annotations

import marshmallow as ma

from labs.api import CalendarDate, Id, Line, Text
from labs.dispatch.domain import MAX_INSTRUMENTS, MAX_PEOPLE, STATES, TRANSITIONS
from labs.dispatch.service import MAX_RANGE_DAYS
from labs.verification.models import INSTRUMENT_KINDS


def _wall_clock(value) -> bool:
    """A time of day on the bureau's clock: no UTC offset of its own."""
    if value.tzinfo is not None:
        raise ma.ValidationError("a wall-clock time such as 09:00, without a UTC offset")
    return True


def _is(description: str, **more) -> dict:
    return {"description": description, **more}


class WorkOrderIn(ma.Schema):
    instrument_ids = ma.fields.List(Id(), required=True, validate=ma.validate.Length(min=1, max=MAX_INSTRUMENTS),
                                    metadata=_is("one enterprise's instruments under verification (with "
                                                 "service_request_id: that request's only)"))
    site = Line(required=True, validate=ma.validate.Length(min=1, max=300),
                metadata=_is("where the work is done: the site's address"))
    day = CalendarDate(required=True, metadata=_is("the day, in the bureau's time zone: not past; a working day or "
                                                   "a weekend day declared staffed, never a statutory holiday"))
    starts = ma.fields.Time(required=True, validate=_wall_clock,
                            metadata=_is("when the work starts, the bureau's wall-clock time (HH:MM, no offset)",
                                         example="09:00"))
    ends = ma.fields.Time(required=True, validate=_wall_clock,
                          metadata=_is("when it ends, after `starts` on the same day", example="12:00"))
    note = Text(load_default="", validate=ma.validate.Length(max=2000), metadata=_is("for the technicians; may span "
                                                                                     "lines"))
    service_request_id = Id(metadata=_is("the accepted verification request it carries out"))
    technician_ids = ma.fields.List(Id(), load_default=list, validate=ma.validate.Length(max=MAX_PEOPLE),
                                    metadata=_is("active technicians assigned at once, all or none (409 when one "
                                                 "is elsewhere then)"))
    rig_ids = ma.fields.List(Id(), load_default=list, validate=ma.validate.Length(max=MAX_PEOPLE),
                             metadata=_is("portable rigs in service assigned at once, their standards valid on the "
                                          "day"))


class AssignmentIn(ma.Schema):
    technician_id = Id(metadata=_is("an active technician; give this or rig_id, not both"))
    rig_id = Id(metadata=_is("a portable rig in service; give this or technician_id, not both"))


class RangeQuery(ma.Schema):
    from_day = CalendarDate(required=True, data_key="from", metadata=_is("the first day"))
    to_day = CalendarDate(required=True, data_key="to",
                          metadata=_is(f"the last day, included; at most {MAX_RANGE_DAYS} days in all"))


class WorkOrderQuery(RangeQuery):
    state = ma.fields.String(validate=ma.validate.OneOf(STATES), metadata=_is("only work orders in this state"))


class WeekQuery(ma.Schema):
    week = CalendarDate(required=True, metadata=_is("any day of the week (Monday to Sunday)"))


class StaffedDayIn(ma.Schema):
    day = CalendarDate(required=True, metadata=_is("a weekend day off (not a make-up working day, not a statutory "
                                                   "holiday)"))


class StaffedDayOut(ma.Schema):
    day = ma.fields.Date(metadata=_is("a weekend day declared staffed"))


class AssignmentOut(ma.Schema):
    id = ma.fields.Integer(metadata=_is("the assignment's id"))
    technician_id = ma.fields.Integer(allow_none=True, metadata=_is("the technician assigned; null: a rig"))
    technician_name = ma.fields.Function(lambda a: a.technician.name if a.technician else None, allow_none=True,
                                         metadata=_is("the technician's name; null: a rig", type="string"))
    rig_id = ma.fields.Integer(allow_none=True, metadata=_is("the rig assigned; null: a technician"))
    rig_code = ma.fields.Function(lambda a: a.rig.code if a.rig else None, allow_none=True,
                                  metadata=_is("the rig's code; null: a technician", type="string"))
    starts_at = ma.fields.AwareDateTime(metadata=_is("held from, UTC: the work order's start"))
    ends_at = ma.fields.AwareDateTime(metadata=_is("held until, UTC: the work order's end"))
    active = ma.fields.Boolean(metadata=_is("false: taken off, or the work order was cancelled"))


class SiteInstrumentOut(ma.Schema):
    id = ma.fields.Integer(metadata=_is("the instrument's id"))
    kind = ma.fields.String(validate=ma.validate.OneOf(INSTRUMENT_KINDS), metadata=_is("its kind"))
    serial_number = ma.fields.String(metadata=_is("its serial number"))
    model = ma.fields.String(metadata=_is("its model; empty: not given"))
    location = ma.fields.String(metadata=_is("where it stands on the site; empty: not given"))
    plate_number = ma.fields.String(allow_none=True, metadata=_is("a taxi meter's vehicle plate; null: none"))


class SiteOwnerOut(ma.Schema):
    credit_code = ma.fields.String(metadata=_is("the enterprise's unified social credit code"))
    name = ma.fields.String(metadata=_is("the enterprise's name"))


class WorkOrderOut(ma.Schema):
    id = ma.fields.Integer(metadata=_is("the work order's id"))
    enterprise = ma.fields.Nested(SiteOwnerOut)
    service_request_id = ma.fields.Integer(allow_none=True, metadata=_is("the verification request it carries "
                                                                         "out; null: none"))
    site = ma.fields.String(metadata=_is("the site's address"))
    day = ma.fields.Date(metadata=_is("the day, in the bureau's time zone"))
    starts_at = ma.fields.AwareDateTime(metadata=_is("when the work starts, UTC"))
    ends_at = ma.fields.AwareDateTime(metadata=_is("when it ends, UTC"))
    state = ma.fields.String(validate=ma.validate.OneOf(STATES),
                             metadata=_is("planned, in_progress (started), done (finished) or cancelled"))
    note = ma.fields.String(metadata=_is("for the technicians; may be empty"))
    instruments = ma.fields.Nested(SiteInstrumentOut, many=True, metadata=_is("the instruments to verify"))
    assignments = ma.fields.Nested(AssignmentOut, many=True, metadata=_is("its technicians and rigs; inactive ones "
                                                                          "were taken off"))
    actions = ma.fields.Function(lambda o: [a for a, rule in TRANSITIONS.items() if o.state in rule.source],
                                 metadata=_is("what may be done next (POST /work-orders/{id}/{action})", type="array",
                                              items={"type": "string", "enum": list(TRANSITIONS)}))


class ScheduleRowOut(ma.Schema):
    technician_id = ma.fields.Function(lambda r: r["technician"].id if r["technician"] else None, allow_none=True,
                                       metadata=_is("the row's technician; null: a rig's row", type="integer"))
    technician_name = ma.fields.Function(lambda r: r["technician"].name if r["technician"] else None, allow_none=True,
                                         metadata=_is("the technician's name; null: a rig's row", type="string"))
    rig_id = ma.fields.Function(lambda r: r["rig"].id if r["rig"] else None, allow_none=True,
                                metadata=_is("the row's portable rig; null: a technician's row", type="integer"))
    rig_code = ma.fields.Function(lambda r: r["rig"].code if r["rig"] else None, allow_none=True,
                                  metadata=_is("the rig's code; null: a technician's row", type="string"))
    work_orders = ma.fields.Function(lambda r: [[o.id for o in cell] for cell in r["cells"]],
                                     metadata=_is("per day of the week, Monday first, the ids of the work orders "
                                                  "holding the row's technician or rig", type="array",
                                                  items={"type": "array", "items": {"type": "integer"}}))


class ScheduleOut(ma.Schema):
    days = ma.fields.List(ma.fields.Date(), metadata=_is("the week's days, Monday to Sunday"))
    staffed = ma.fields.List(ma.fields.Date(), metadata=_is("the week's weekend days declared staffed"))
    rows = ma.fields.Nested(ScheduleRowOut, many=True, metadata=_is("technicians by name, then portable rigs by "
                                                                    "code"))
