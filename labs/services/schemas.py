"""The marshmallow schemas the services API and its pages share."""
from __future__ import annotations

import marshmallow as ma

from labs.api import CalendarDate, Id, Line, Text
from labs.services.models import MODES, PAUSE_REASONS, REQUEST_STATES, TICKET_STATES
from labs.verification.models import INSTRUMENT_KINDS, RUN_STATES
from labs.services.service import MAX_INSTRUMENTS, MAX_PREFERRED_DATES


def _line(max_length: int, required: bool = False, **kw) -> ma.fields.String:
    return Line(required=required, validate=ma.validate.Length(min=1 if required else 0, max=max_length), **kw)


class RequestIn(ma.Schema):
    mode = ma.fields.String(required=True, validate=ma.validate.OneOf(MODES))
    instrument_ids = ma.fields.List(Id(), required=True, validate=ma.validate.Length(min=1, max=MAX_INSTRUMENTS))
    address = _line(300, load_default="", metadata={"description": "needed on site and for pick-up"})
    preferred_dates = ma.fields.List(CalendarDate(), load_default=list,
                                     validate=ma.validate.Length(max=MAX_PREFERRED_DATES))
    contact_name = _line(100, required=True)
    contact_phone = _line(40, required=True)
    note = Text(load_default="", validate=ma.validate.Length(max=2000))
    missing_documents = Text(load_default="", validate=ma.validate.Length(max=2000))
    commitment_signed = ma.fields.Boolean(load_default=False)


class RefusalIn(ma.Schema):
    reason = _line(500, required=True)


class PauseIn(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.OneOf(PAUSE_REASONS))
    note = _line(500, load_default="")


class RequestRunIn(ma.Schema):
    instrument_id = Id(required=True)
    rig_id = Id(required=True)
    nozzle = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=1, max=99),
                               metadata={"description": "a fuel dispenser's nozzle"})


class SettingIn(ma.Schema):
    acceptance_days = ma.fields.Integer(validate=ma.validate.Range(min=1, max=60))
    conclusion_days = ma.fields.Integer(validate=ma.validate.Range(min=1, max=60))
    active = ma.fields.Boolean()


class SettingOut(ma.Schema):
    mode = ma.fields.String(validate=ma.validate.OneOf(MODES))
    acceptance_days = ma.fields.Integer()
    conclusion_days = ma.fields.Integer()
    active = ma.fields.Boolean()


class ItemOut(ma.Schema):
    instrument_id = ma.fields.Integer()
    kind = ma.fields.String(validate=ma.validate.OneOf(INSTRUMENT_KINDS), attribute="instrument.kind")
    serial_number = ma.fields.String(attribute="instrument.serial_number")
    certificate_number = ma.fields.String(attribute="certificate.number", allow_none=True)
    certificate_kind = ma.fields.String(validate=ma.validate.OneOf(("certificate", "failure_notice")),
                                        attribute="certificate.kind", allow_none=True)


class PauseOut(ma.Schema):
    reason = ma.fields.String()
    note = ma.fields.String()
    started_at = ma.fields.DateTime()
    ended_at = ma.fields.DateTime(allow_none=True)
    working_days = ma.fields.Integer(allow_none=True)


class ClockOut(ma.Schema):
    acceptance_due = ma.fields.Date(allow_none=True)
    conclusion_due = ma.fields.Date(allow_none=True)
    paused_since = ma.fields.DateTime(allow_none=True)
    pause_reason = ma.fields.String(allow_none=True)
    paused_days = ma.fields.Integer()
    on_time = ma.fields.Boolean(allow_none=True)
    working_days_taken = ma.fields.Integer(allow_none=True)


class StepOut(ma.Schema):
    kind = ma.fields.String()
    at = ma.fields.DateTime()
    actor_name = ma.fields.String(metadata={"description": "who acted; empty when the service itself did"})
    detail = ma.fields.Dict()


class RequestOut(ma.Schema):
    id = ma.fields.Integer()
    mode = ma.fields.String(validate=ma.validate.OneOf(MODES))
    state = ma.fields.String(validate=ma.validate.OneOf(REQUEST_STATES))
    enterprise = ma.fields.String(attribute="enterprise.name")
    address = ma.fields.String()
    preferred_dates = ma.fields.List(ma.fields.String())
    contact_name = ma.fields.String()
    contact_phone = ma.fields.String()
    note = ma.fields.String()
    missing_documents = ma.fields.String()
    documents_due = ma.fields.Date(allow_none=True)
    refusal_reason = ma.fields.String(allow_none=True)
    submitted_at = ma.fields.DateTime()
    concluded_at = ma.fields.DateTime(allow_none=True)
    items = ma.fields.List(ma.fields.Nested(ItemOut))
    clock = ma.fields.Nested(ClockOut)


class RequestDetailOut(RequestOut):
    pauses = ma.fields.List(ma.fields.Nested(PauseOut))
    steps = ma.fields.List(ma.fields.Nested(StepOut))


class RequestQuery(ma.Schema):
    state = ma.fields.String(validate=ma.validate.OneOf(("requested", "accepted", "refused", "concluded")))


class MonthQuery(ma.Schema):
    month = ma.fields.String(validate=ma.validate.Regexp(r"^(19[7-9][0-9]|2[01][0-9]{2})-(0[1-9]|1[0-2])$"),
                             metadata={"description": "YYYY-MM; this month when absent"})


class FiguresOut(ma.Schema):
    mode = ma.fields.String(validate=ma.validate.OneOf(MODES))
    requests = ma.fields.Integer()
    concluded = ma.fields.Integer()
    on_time = ma.fields.Integer()
    on_time_share = ma.fields.Float(allow_none=True)
    mean_working_days = ma.fields.Float(allow_none=True)


class MonthOut(ma.Schema):
    month = ma.fields.String()
    services = ma.fields.List(ma.fields.Nested(FiguresOut))


class TicketIn(ma.Schema):
    plate_number = _line(12, required=True)
    meter_serial = _line(64, required=True)


class TicketOut(ma.Schema):
    number = ma.fields.Integer()
    day = ma.fields.Date()
    state = ma.fields.String(validate=ma.validate.OneOf(TICKET_STATES))
    ahead = ma.fields.Integer(allow_none=True, metadata={"description": "numbers waiting before this one"})
    plate_number = ma.fields.String()
    run_state = ma.fields.String(validate=ma.validate.OneOf(RUN_STATES), allow_none=True)
    certificate_number = ma.fields.String(allow_none=True)
    certificate_kind = ma.fields.String(validate=ma.validate.OneOf(("certificate", "failure_notice")), allow_none=True)


class TakenOut(TicketOut):
    token = ma.fields.String(metadata={"description": "the ticket's secret: GET /taxi-tickets/{token}"})
