"""The catalog's schemas, shared by its API (labs.catalog.api) and the pages that manage labs."""
from __future__ import annotations

import marshmallow as ma

from labs.api import CalendarDate, Id, Line, Moment, Money


class HoursSchema(ma.Schema):
    weekday = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=6))
    opens = ma.fields.Time(required=True)
    closes = ma.fields.Time(required=True)


class InstrumentIn(ma.Schema):
    code = Line(required=True, validate=ma.validate.Length(min=1, max=32))
    name = Line(required=True, validate=ma.validate.Length(min=1, max=200))
    certificate_no = Line(load_default="", validate=ma.validate.Length(max=64))
    calibration_valid_until = CalendarDate(required=True)


class InstrumentPatch(InstrumentIn):
    """Only the fields sent change. (marshmallow has no `Meta.partial`: partial is per instance.)"""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "partial": True})


class InstrumentOut(InstrumentIn):
    id = ma.fields.Integer()
    lab_id = ma.fields.Integer()


class LabIn(ma.Schema):
    code = Line(required=True, validate=ma.validate.Length(min=1, max=32))
    name = Line(required=True, validate=ma.validate.Length(min=1, max=200))
    discipline = Line(required=True, validate=ma.validate.Length(min=1, max=100))
    location = Line(load_default="", validate=ma.validate.Length(max=200))
    timezone = Line(load_default="Asia/Shanghai", validate=ma.validate.Length(min=1, max=64))
    bays = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100))
    public_benefit = ma.fields.Boolean(load_default=False)
    fee_per_hour = Money()
    fee_per_batch = Money()
    approval_mode = ma.fields.String(load_default="manager", validate=ma.validate.OneOf(["instant", "manager"]))
    approval_deadline_days = ma.fields.Integer(load_default=3, validate=ma.validate.Range(min=0, max=60))
    document_deadline_days = ma.fields.Integer(load_default=5, validate=ma.validate.Range(min=0, max=60))
    min_duration_minutes = ma.fields.Integer(load_default=30, validate=ma.validate.Range(min=5, max=24 * 60))
    max_duration_minutes = ma.fields.Integer(load_default=480, validate=ma.validate.Range(min=5, max=24 * 60))
    max_advance_days = ma.fields.Integer(load_default=90, validate=ma.validate.Range(min=1, max=730))
    max_weekly_hours_per_enterprise = ma.fields.Integer(
        load_default=None, allow_none=True, validate=ma.validate.Range(min=1, max=7 * 24),
        metadata={"description": "booked hours one enterprise may hold in the lab per week; null: no limit"})
    hours = ma.fields.List(ma.fields.Nested(HoursSchema), load_default=list)
    instruments = ma.fields.List(ma.fields.Nested(InstrumentIn), load_default=list, load_only=True)
    manager_ids = ma.fields.List(Id(), load_default=list, load_only=True, validate=ma.validate.Length(max=50))
    technician_ids = ma.fields.List(Id(), load_default=list, load_only=True, validate=ma.validate.Length(max=200),
                                    metadata={"description": "the technicians who work in the lab and see its bookings"})


class LabPatch(LabIn):
    """Only the fields sent change."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "partial": True})


class LabOut(LabIn):
    id = ma.fields.Integer()
    instruments = ma.fields.List(ma.fields.Nested(InstrumentOut), dump_only=True)


class ClosureIn(ma.Schema):
    starts_at = Moment(required=True)
    ends_at = Moment(required=True)
    reason = Line(required=True, validate=ma.validate.Length(min=1, max=200))


class ClosureOut(ClosureIn):
    id = ma.fields.Integer()
    lab_id = ma.fields.Integer()
