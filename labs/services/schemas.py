"""The marshmallow schemas the services API and its pages share."""
from __future__ import annotations

import marshmallow as ma

from labs.api import CalendarDate, Id, Line, Text
from labs.services.models import MODES, PAUSE_REASONS, REQUEST_STATES, TICKET_STATES
from labs.services.service import DOCUMENT_DAYS, MAX_INSTRUMENTS, MAX_PREFERRED_DATES
from labs.verification.models import INSTRUMENT_KINDS, RUN_STATES
from labs.verification.schemas import CERTIFICATE_KINDS

# The kinds of step labs.services.service writes to a request's chain (tests/services check the list).
STEP_KINDS = ("requested", "accepted", "refused", "paused", "resumed", "documents_delivered", "run_queued",
              "certificate_issued", "concluded")
SERVICE = ("at_lab: brought to the lab; on_site: at the enterprise; weekend: on days off; pickup: fetched and "
           "returned; taxi_at_once: taxi meters while the driver waits")
PAUSE = "missing_documents: waiting for documents promised; enterprise_unavailable: it cannot receive the technicians"


def _line(max_length: int, required: bool = False, **kw) -> ma.fields.String:
    return Line(required=required, validate=ma.validate.Length(min=1 if required else 0, max=max_length), **kw)


def _is(description: str) -> dict:
    return {"description": description}


class RequestIn(ma.Schema):
    mode = ma.fields.String(required=True, validate=ma.validate.OneOf(MODES),
                            metadata=_is(f"the service, one that takes requests now: {SERVICE}"))
    instrument_ids = ma.fields.List(Id(), required=True, validate=ma.validate.Length(min=1, max=MAX_INSTRUMENTS),
                                    metadata=_is("the enterprise's own registered instruments, none in another "
                                                 "open request (taxi_at_once: taxi meters only)"))
    address = _line(300, load_default="", metadata=_is("where the instruments are: needed on site and for "
                                                       "pick-up"))
    preferred_dates = ma.fields.List(CalendarDate(), load_default=list,
                                     validate=ma.validate.Length(max=MAX_PREFERRED_DATES),
                                     metadata=_is("different days after today, the most preferred first (weekend: "
                                                  "days off only)"))
    contact_name = _line(100, required=True, metadata=_is("whom the bureau contacts about it"))
    contact_phone = _line(40, required=True, metadata=_is("their phone number"))
    note = Text(load_default="", validate=ma.validate.Length(max=2000), metadata=_is("anything the bureau should "
                                                                                     "know; may span lines"))
    missing_documents = Text(load_default="", validate=ma.validate.Length(max=2000),
                             metadata=_is(f"documents to deliver later under the signed commitment (容缺受理), due "
                                          f"{DOCUMENT_DAYS} working days after the request; empty: none"))
    commitment_signed = ma.fields.Boolean(load_default=False,
                                          metadata=_is("the commitment to deliver them is signed: required with "
                                                       "missing_documents"))


class RefusalIn(ma.Schema):
    reason = _line(500, required=True, metadata=_is("why, as the enterprise reads it"))


class PauseIn(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.OneOf(PAUSE_REASONS),
                              metadata=_is(f"why the clock stops: {PAUSE}"))
    note = _line(500, load_default="", metadata=_is("what the bureau waits for"))


class RequestRunIn(ma.Schema):
    instrument_id = Id(required=True, metadata=_is("one of the request's instruments, not settled yet"))
    rig_id = Id(required=True, metadata=_is("the rig to run on"))
    nozzle = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=1, max=99),
                               metadata=_is("a fuel dispenser's nozzle; null: every nozzle"))


class SettingIn(ma.Schema):
    acceptance_days = ma.fields.Integer(validate=ma.validate.Range(min=1, max=60),
                                        metadata=_is("working days from a request to its acceptance, at most "
                                                     "conclusion_days"))
    conclusion_days = ma.fields.Integer(validate=ma.validate.Range(min=1, max=60),
                                        metadata=_is("working days from a request to its conclusion"))
    active = ma.fields.Boolean(metadata=_is("takes new requests; requests made before keep their days"))


class SettingOut(ma.Schema):
    mode = ma.fields.String(validate=ma.validate.OneOf(MODES), metadata=_is(f"the service: {SERVICE}"))
    acceptance_days = ma.fields.Integer(metadata=_is("working days from a request to its acceptance"))
    conclusion_days = ma.fields.Integer(metadata=_is("working days from a request to its conclusion"))
    active = ma.fields.Boolean(metadata=_is("takes new requests"))


class ItemOut(ma.Schema):
    instrument_id = ma.fields.Integer(metadata=_is("the instrument's id"))
    kind = ma.fields.String(validate=ma.validate.OneOf(INSTRUMENT_KINDS), attribute="instrument.kind",
                            metadata=_is("its kind"))
    serial_number = ma.fields.String(attribute="instrument.serial_number", metadata=_is("its serial number"))
    certificate_number = ma.fields.String(attribute="certificate.number", allow_none=True,
                                          metadata=_is("the certificate or notice that settled it; null: not "
                                                       "settled"))
    certificate_kind = ma.fields.String(validate=ma.validate.OneOf(CERTIFICATE_KINDS),
                                        attribute="certificate.kind", allow_none=True,
                                        metadata=_is("certificate: passed; failure_notice: failed; null: not "
                                                     "settled"))


class PauseOut(ma.Schema):
    reason = ma.fields.String(validate=ma.validate.OneOf(PAUSE_REASONS), metadata=_is(f"why: {PAUSE}"))
    note = ma.fields.String(metadata=_is("what the bureau waits for; may be empty"))
    started_at = ma.fields.DateTime(metadata=_is("when the clock stopped, UTC"))
    ended_at = ma.fields.DateTime(allow_none=True, metadata=_is("when it ran again, UTC; null: still stopped"))
    working_days = ma.fields.Integer(allow_none=True, metadata=_is("working days it lasted, which move the "
                                                                   "deadlines; null: still stopped"))


class ClockOut(ma.Schema):
    acceptance_due = ma.fields.Date(allow_none=True, metadata=_is("the last day to accept, in the service's time zone; "
                                                                  "null once decided or while stopped"))
    conclusion_due = ma.fields.Date(allow_none=True, metadata=_is("the last day to conclude, in the service's time "
                                                                  "zone; null while stopped"))
    paused_since = ma.fields.DateTime(allow_none=True, metadata=_is("when the clock stopped, UTC; null: it runs"))
    pause_reason = ma.fields.String(validate=ma.validate.OneOf(PAUSE_REASONS), allow_none=True,
                                    metadata=_is("why it is stopped; null: it runs"))
    paused_days = ma.fields.Integer(metadata=_is("working days of the ended pauses, added to the deadlines"))
    on_time = ma.fields.Boolean(allow_none=True, metadata=_is("concluded by conclusion_due; null: not concluded"))
    working_days_taken = ma.fields.Integer(allow_none=True, metadata=_is("working days from request to conclusion, "
                                                                         "pauses left out; null: not concluded"))


class StepOut(ma.Schema):
    kind = ma.fields.String(validate=ma.validate.OneOf(STEP_KINDS), metadata=_is("what happened"))
    at = ma.fields.DateTime(metadata=_is("when, UTC"))
    actor_name = ma.fields.String(metadata=_is("who acted, as named then; empty when the service itself did"))
    detail = ma.fields.Dict(metadata=_is("the step's particulars: reasons, notes, serial numbers, a certificate's "
                                         "number, working days"))


class RequestOut(ma.Schema):
    id = ma.fields.Integer(metadata=_is("the request's id"))
    mode = ma.fields.String(validate=ma.validate.OneOf(MODES), metadata=_is("the service asked for"))
    state = ma.fields.String(validate=ma.validate.OneOf(REQUEST_STATES),
                             metadata=_is("requested: awaits a decision; accepted; refused; concluded: every "
                                          "instrument has its certificate or notice"))
    enterprise = ma.fields.String(attribute="enterprise.name", metadata=_is("the requesting enterprise's name"))
    address = ma.fields.String(metadata=_is("where the instruments are; empty: not given"))
    preferred_dates = ma.fields.List(ma.fields.String(), metadata=_is("the days preferred (YYYY-MM-DD), the most "
                                                                      "preferred first"))
    contact_name = ma.fields.String(metadata=_is("whom the bureau contacts"))
    contact_phone = ma.fields.String(metadata=_is("their phone number"))
    note = ma.fields.String(metadata=_is("the enterprise's note; may be empty"))
    missing_documents = ma.fields.String(metadata=_is("documents still to deliver; empty: none"))
    documents_due = ma.fields.Date(allow_none=True, metadata=_is("the last day to deliver them; null: none "
                                                                 "outstanding"))
    refusal_reason = ma.fields.String(allow_none=True, metadata=_is("why it was refused; null: not refused"))
    submitted_at = ma.fields.DateTime(metadata=_is("when it was made, UTC"))
    concluded_at = ma.fields.DateTime(allow_none=True, metadata=_is("when it concluded, UTC; null: not yet"))
    items = ma.fields.List(ma.fields.Nested(ItemOut), metadata=_is("its instruments and what settled each"))
    clock = ma.fields.Nested(ClockOut)


class RequestDetailOut(RequestOut):
    pauses = ma.fields.List(ma.fields.Nested(PauseOut), metadata=_is("every stop of the clock, in order"))
    steps = ma.fields.List(ma.fields.Nested(StepOut), metadata=_is("every step, in order"))


class RequestQuery(ma.Schema):
    state = ma.fields.String(validate=ma.validate.OneOf(REQUEST_STATES), metadata=_is("only requests in this "
                                                                                      "state"))


class MonthQuery(ma.Schema):
    month = Line(validate=ma.validate.Regexp(r"^(19[7-9][0-9]|2[01][0-9]{2})-(0[1-9]|1[0-2])$"),
                 metadata=_is("YYYY-MM; this month when absent"))


class FiguresOut(ma.Schema):
    mode = ma.fields.String(validate=ma.validate.OneOf(MODES), metadata=_is("the service"))
    requests = ma.fields.Integer(metadata=_is("requests made in the month"))
    concluded = ma.fields.Integer(metadata=_is("of those, concluded so far"))
    on_time = ma.fields.Integer(metadata=_is("of those concluded, how many by their deadline"))
    on_time_share = ma.fields.Float(allow_none=True, metadata=_is("on_time / concluded, 0 to 1 (按时办结率); null: "
                                                                  "none concluded"))
    mean_working_days = ma.fields.Float(allow_none=True, metadata=_is("mean working days taken, pauses left out, "
                                                                      "one decimal; null: none concluded"))


class MonthOut(ma.Schema):
    month = ma.fields.String(metadata=_is("the month, YYYY-MM, by the service's calendar"))
    services = ma.fields.List(ma.fields.Nested(FiguresOut), metadata=_is("one row per service"))


class TicketIn(ma.Schema):
    plate_number = _line(12, required=True, metadata=_is("the taxi's plate, e.g. 京B12345 (spaces, dots and dashes "
                                                         "are dropped)"))
    meter_serial = _line(64, required=True, metadata=_is("the taxi meter's serial number"))


class TicketOut(ma.Schema):
    number = ma.fields.Integer(metadata=_is("the number taken, from 1 each day"))
    day = ma.fields.Date(metadata=_is("the day it is for, in the service's time zone"))
    state = ma.fields.String(validate=ma.validate.OneOf(TICKET_STATES),
                             metadata=_is("waiting; called: to the rig; running: being verified; no_show: missed"))
    ahead = ma.fields.Integer(allow_none=True, metadata=_is("numbers waiting before this one; null: not waiting"))
    plate_number = ma.fields.String(metadata=_is("the taxi's plate, as normalised"))
    run_state = ma.fields.String(validate=ma.validate.OneOf(RUN_STATES), allow_none=True,
                                 metadata=_is("the meter's verification run's state; null: no run yet"))
    certificate_number = ma.fields.String(allow_none=True, metadata=_is("its certificate or notice; null: none yet"))
    certificate_kind = ma.fields.String(validate=ma.validate.OneOf(CERTIFICATE_KINDS), allow_none=True,
                                        metadata=_is("certificate: passed; failure_notice: failed; null: none yet"))


class TakenOut(TicketOut):
    token = ma.fields.String(metadata=_is("the ticket's secret: GET /taxi-tickets/{token}"))
