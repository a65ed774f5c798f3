"""The catalog's schemas, shared by its API (labs.catalog.api) and the pages that manage labs."""
from __future__ import annotations

import marshmallow as ma

from labs.api import CalendarDate, Id, Line, Moment, Money


class HoursSchema(ma.Schema):
    weekday = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=6),
                                metadata={"description": "0 Monday ... 6 Sunday (5 and 6: weekend service)"})
    opens = ma.fields.Time(required=True, metadata={"description": "when the lab opens, local time (HH:MM)"})
    closes = ma.fields.Time(required=True, metadata={"description": "when it closes, local time, after `opens`"})


class InstrumentIn(ma.Schema):
    code = Line(required=True, validate=ma.validate.Length(min=1, max=32),
                metadata={"description": "the lab's own code for it, once per lab"})
    name = Line(required=True, validate=ma.validate.Length(min=1, max=200), metadata={"description": "what it is"})
    certificate_no = Line(load_default="", validate=ma.validate.Length(max=64),
                          metadata={"description": "its calibration certificate's number"})
    calibration_valid_until = CalendarDate(required=True,
                                           metadata={"description": "the last day its calibration is valid; not past"})


class InstrumentPatch(InstrumentIn):
    """Only the fields sent change. (marshmallow has no `Meta.partial`: partial is per instance.)"""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "partial": True})


class InstrumentOut(InstrumentIn):
    id = ma.fields.Integer(metadata={"description": "the instrument's id"})
    lab_id = ma.fields.Integer(metadata={"description": "the lab it belongs to"})
    retired_on = ma.fields.Date(allow_none=True, metadata={"description": "when it was retired; null: in service"})


class LabIn(ma.Schema):
    code = Line(required=True, validate=ma.validate.Length(min=1, max=32),
                metadata={"description": "the lab's short code (EMC, CT-1), unique; fixed once the lab exists"})
    name = Line(required=True, validate=ma.validate.Length(min=1, max=200), metadata={"description": "the lab's name"})
    discipline = Line(required=True, validate=ma.validate.Length(min=1, max=100),
                      metadata={"description": "what it tests (bearings, LED, EMC, ...); fixed once the lab exists"})
    location = Line(load_default="", validate=ma.validate.Length(max=200), metadata={"description": "where it is"})
    timezone = Line(load_default="Asia/Shanghai", validate=ma.validate.Length(min=1, max=64),
                    metadata={"description": "the IANA time zone of its hours and days; fixed once the lab exists"})
    bays = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100),
                             metadata={"description": "how many bookings it takes at the same time"})
    public_benefit = ma.fields.Boolean(load_default=False,
                                       metadata={"description": "free of charge (公益): no fees are quoted"})
    fee_per_hour = Money(metadata={"description": "yuan per booked hour, charged pro rata"})
    fee_per_batch = Money(metadata={"description": "yuan per test batch"})
    approval_mode = ma.fields.String(load_default="manager", validate=ma.validate.OneOf(["instant", "manager"]),
                                     metadata={"description": "instant: approved at once (单件即时签批); manager: a manager decides"})
    approval_deadline_days = ma.fields.Integer(load_default=3, validate=ma.validate.Range(min=0, max=60),
                                               metadata={"description": "working days to decide a request"})
    document_deadline_days = ma.fields.Integer(load_default=5, validate=ma.validate.Range(min=0, max=60),
                                               metadata={"description": "working days to deliver missing documents"})
    min_duration_minutes = ma.fields.Integer(load_default=30, validate=ma.validate.Range(min=5, max=24 * 60),
                                             metadata={"description": "the shortest booking, in minutes"})
    max_duration_minutes = ma.fields.Integer(load_default=480, validate=ma.validate.Range(min=5, max=24 * 60),
                                             metadata={"description": "the longest booking, in minutes"})
    max_advance_days = ma.fields.Integer(load_default=90, validate=ma.validate.Range(min=1, max=730),
                                         metadata={"description": "how many days ahead a booking may start"})
    max_weekly_hours_per_enterprise = ma.fields.Integer(
        load_default=None, allow_none=True, validate=ma.validate.Range(min=1, max=7 * 24),
        metadata={"description": "booked hours one enterprise may hold in the lab per week; null: no limit"})
    slot_step_minutes = ma.fields.Integer(
        load_default=30, validate=ma.validate.OneOf([1, 5, 10, 15, 20, 30, 60]),
        metadata={"description": "bookings start and end on this step of local time, in minutes"})
    hours = ma.fields.List(ma.fields.Nested(HoursSchema), load_default=list,
                           metadata={"description": "one span a weekday; a weekday not listed is closed"})
    instruments = ma.fields.List(ma.fields.Nested(InstrumentIn), load_default=list, load_only=True,
                                 metadata={"description": "instruments to list with the new lab"})
    manager_ids = ma.fields.List(Id(), load_default=list, load_only=True, validate=ma.validate.Length(max=50),
                                 metadata={"description": "its managers (lab managers); set by administrators"})
    technician_ids = ma.fields.List(Id(), load_default=list, load_only=True, validate=ma.validate.Length(max=200),
                                    metadata={"description": "the technicians who work in the lab and see its bookings"})


class LabPatch(LabIn):
    """Only the fields sent change."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "partial": True})


class LabOut(LabIn):
    id = ma.fields.Integer(metadata={"description": "the lab's id"})
    instruments = ma.fields.List(ma.fields.Nested(InstrumentOut), dump_only=True,
                                 metadata={"description": "its instruments in service"})


class ClosureIn(ma.Schema):
    starts_at = Moment(required=True, metadata={"description": "when the closure begins, with its UTC offset"})
    ends_at = Moment(required=True, metadata={"description": "when it ends (the lab opens again), after `starts_at`"})
    reason = Line(required=True, validate=ma.validate.Length(min=1, max=200),
                  metadata={"description": "why, as the enterprises are told"})


class ClosureOut(ClosureIn):
    id = ma.fields.Integer(metadata={"description": "the closure's id"})
    lab_id = ma.fields.Integer(metadata={"description": "the lab it closes"})
