"""The marshmallow schemas the dispatch API and its pages share."""
from __future__ import annotations

import marshmallow as ma

from labs.api import CalendarDate, Id, Line, Text
from labs.dispatch.domain import MAX_INSTRUMENTS, MAX_PEOPLE, STATES, TRANSITIONS


def _wall_clock(value) -> bool:
    """A time of day on the bureau's clock: no UTC offset of its own."""
    if value.tzinfo is not None:
        raise ma.ValidationError("a wall-clock time such as 09:00, without a UTC offset")
    return True


class WorkOrderIn(ma.Schema):
    instrument_ids = ma.fields.List(Id(), required=True, validate=ma.validate.Length(min=1, max=MAX_INSTRUMENTS),
                                    metadata={"description": "one enterprise's instruments under verification"})
    site = Line(required=True, validate=ma.validate.Length(min=1, max=300),
                metadata={"description": "where the work is done: the site's address"})
    day = CalendarDate(required=True, metadata={"description": "the day, in the bureau's time zone"})
    starts = ma.fields.Time(required=True, validate=_wall_clock, metadata={"example": "09:00"})
    ends = ma.fields.Time(required=True, validate=_wall_clock, metadata={"example": "12:00"})
    note = Text(load_default="", validate=ma.validate.Length(max=2000))
    service_request_id = Id(metadata={"description": "the accepted verification request it carries out"})
    technician_ids = ma.fields.List(Id(), load_default=list, validate=ma.validate.Length(max=MAX_PEOPLE))
    rig_ids = ma.fields.List(Id(), load_default=list, validate=ma.validate.Length(max=MAX_PEOPLE),
                             metadata={"description": "portable rigs"})


class AssignmentIn(ma.Schema):
    technician_id = Id(metadata={"description": "a technician, or"})
    rig_id = Id(metadata={"description": "a portable rig"})


class RangeQuery(ma.Schema):
    from_day = CalendarDate(required=True, data_key="from")
    to_day = CalendarDate(required=True, data_key="to")


class WorkOrderQuery(RangeQuery):
    state = ma.fields.String(validate=ma.validate.OneOf(STATES))


class WeekQuery(ma.Schema):
    week = CalendarDate(required=True, metadata={"description": "any day of the week"})


class StaffedDayIn(ma.Schema):
    day = CalendarDate(required=True)


class StaffedDayOut(ma.Schema):
    day = ma.fields.Date()


class AssignmentOut(ma.Schema):
    id = ma.fields.Integer()
    technician_id = ma.fields.Integer(allow_none=True)
    technician_name = ma.fields.Function(lambda a: a.technician.name if a.technician else None, allow_none=True)
    rig_id = ma.fields.Integer(allow_none=True)
    rig_code = ma.fields.Function(lambda a: a.rig.code if a.rig else None, allow_none=True)
    starts_at = ma.fields.AwareDateTime()
    ends_at = ma.fields.AwareDateTime()
    active = ma.fields.Boolean()


class SiteInstrumentOut(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    serial_number = ma.fields.String()
    model = ma.fields.String()
    location = ma.fields.String()
    plate_number = ma.fields.String(allow_none=True)


class SiteOwnerOut(ma.Schema):
    credit_code = ma.fields.String()
    name = ma.fields.String()


class WorkOrderOut(ma.Schema):
    id = ma.fields.Integer()
    enterprise = ma.fields.Nested(SiteOwnerOut)
    service_request_id = ma.fields.Integer(allow_none=True)
    site = ma.fields.String()
    day = ma.fields.Date()
    starts_at = ma.fields.AwareDateTime()
    ends_at = ma.fields.AwareDateTime()
    state = ma.fields.String(metadata={"enum": list(STATES)})
    note = ma.fields.String()
    instruments = ma.fields.Nested(SiteInstrumentOut, many=True)
    assignments = ma.fields.Nested(AssignmentOut, many=True, metadata={"description": "inactive ones were taken off"})
    actions = ma.fields.Function(lambda o: [a for a, rule in TRANSITIONS.items() if o.state in rule.source],
                                 metadata={"description": "what may be done next"})


class ScheduleRowOut(ma.Schema):
    technician_id = ma.fields.Function(lambda r: r["technician"].id if r["technician"] else None, allow_none=True)
    technician_name = ma.fields.Function(lambda r: r["technician"].name if r["technician"] else None, allow_none=True)
    rig_id = ma.fields.Function(lambda r: r["rig"].id if r["rig"] else None, allow_none=True)
    rig_code = ma.fields.Function(lambda r: r["rig"].code if r["rig"] else None, allow_none=True)
    work_orders = ma.fields.Function(lambda r: [[o.id for o in cell] for cell in r["cells"]],
                                     metadata={"description": "per day of the week, the work orders' ids"})


class ScheduleOut(ma.Schema):
    days = ma.fields.List(ma.fields.Date())
    staffed = ma.fields.List(ma.fields.Date(), metadata={"description": "the week's staffed weekend days"})
    rows = ma.fields.Nested(ScheduleRowOut, many=True)
