"""The booking feature's schemas, shared by its API (booking.api) and its pages (booking.views)."""
from __future__ import annotations

import marshmallow as ma

from flask_smorest.fields import Upload

from booking import documents, domain, service
from labs.api import CalendarDate, Id, Line, Moment, Money, Text
from labs.i18n import N_


class RangeQuery(ma.Schema):
    from_ = CalendarDate(required=True, data_key="from")
    to = CalendarDate(required=True)


class Span(ma.Schema):
    starts_at = ma.fields.AwareDateTime()
    ends_at = ma.fields.AwareDateTime()


class ClosureSpan(Span):
    reason = ma.fields.String()


class BayDay(ma.Schema):
    bay = ma.fields.Integer()
    busy = ma.fields.List(ma.fields.Nested(Span))
    free = ma.fields.List(ma.fields.Nested(Span))


class DayOut(ma.Schema):
    date = ma.fields.Date()
    working_day = ma.fields.Boolean()
    holiday = ma.fields.String(allow_none=True)
    calendar_covered = ma.fields.Boolean()
    open = ma.fields.List(ma.fields.Nested(Span))
    closures = ma.fields.List(ma.fields.Nested(ClosureSpan))
    bays = ma.fields.List(ma.fields.Nested(BayDay))


class InstrumentValidity(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    calibration_valid_until = ma.fields.Date()
    usable_until_end = ma.fields.Boolean()


class AvailabilityOut(ma.Schema):
    lab_id = ma.fields.Integer()
    timezone = ma.fields.String()
    from_ = ma.fields.Date(data_key="from")
    to = ma.fields.Date()
    calendar_note = ma.fields.String(allow_none=True)
    instruments = ma.fields.List(ma.fields.Nested(InstrumentValidity))
    days = ma.fields.List(ma.fields.Nested(DayOut))


class BookingIn(ma.Schema):
    lab_id = Id(required=True)
    starts_at = Moment(required=True)
    ends_at = Moment(required=True)
    test_type = Line(required=True, validate=ma.validate.Length(min=1, max=200))
    sample_description = Text(required=True, validate=ma.validate.Length(min=1, max=2000))
    batches = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1000))
    contact_name = Line(required=True, validate=ma.validate.Length(min=1, max=100))
    contact_phone = Line(required=True, validate=ma.validate.Regexp(r"^\+?[0-9][0-9 -]{4,38}$"))
    instrument_ids = ma.fields.List(Id(),
                                    load_default=list, validate=ma.validate.Length(max=50))
    missing_documents = Text(load_default="", validate=ma.validate.Length(max=2000))
    commitment_signed = ma.fields.Boolean(load_default=False)


class SeriesIn(BookingIn):
    weeks = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=52))
    policy = ma.fields.String(required=True, validate=ma.validate.OneOf(["all_or_nothing", "skip_conflicts"]))
    dry_run = ma.fields.Boolean(load_default=False)


class BookingOut(ma.Schema):
    id = ma.fields.Integer()
    lab_id = ma.fields.Integer()
    lab_code = ma.fields.Function(lambda b: b.lab.code)
    bay = ma.fields.Integer()
    enterprise_id = ma.fields.Integer()
    series_id = ma.fields.String(allow_none=True)
    starts_at = ma.fields.AwareDateTime()
    ends_at = ma.fields.AwareDateTime()
    status = ma.fields.String(validate=ma.validate.OneOf(domain.STATES))
    test_type = ma.fields.String()
    sample_description = ma.fields.String()
    batches = ma.fields.Integer()
    contact_name = ma.fields.String()
    contact_phone = ma.fields.String()
    instrument_ids = ma.fields.Function(lambda b: [i.id for i in b.instruments])
    # A booking's fee (NUMERIC(14, 2)) may exceed a rate's eight digits: 24 h and 1000 batches.
    fee = Money(metadata={"pattern": r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$", "example": "300.00"})
    created_at = ma.fields.AwareDateTime()
    approval_due = ma.fields.Date(allow_none=True)
    overdue = ma.fields.Function(lambda b: service.is_overdue(b))
    decision_note = ma.fields.String()
    missing_documents = ma.fields.String()
    commitment_signed = ma.fields.Boolean()
    documents_due = ma.fields.Date(allow_none=True)
    documents_received_at = ma.fields.AwareDateTime(
        allow_none=True, metadata={"description": "when the lab confirmed the missing documents received"})
    awaiting_documents = ma.fields.Function(
        lambda b: service.awaiting_documents(b),
        metadata={"description": "documents were missing and the lab has not confirmed them received: "
                                 "the booking lapses at their deadline and cannot be checked in"})


class DocumentOut(ma.Schema):
    id = ma.fields.Integer()
    booking_id = ma.fields.Integer()
    filename = ma.fields.String()
    content_type = ma.fields.String(metadata={"enum": [documents.PDF, documents.PNG, documents.JPEG],
                                              "description": "what the content was found to be"})
    size_bytes = ma.fields.Integer()
    sha256 = ma.fields.String()
    uploaded_at = ma.fields.AwareDateTime()


class DocumentIn(ma.Schema):
    file = Upload(required=True, metadata={
        "description": f"a PDF, PNG or JPEG file of at most {documents.LIMIT_BYTES // 1024 // 1024} MiB, "
                       "judged by its content"})


class Occurrence(ma.Schema):
    starts_at = ma.fields.AwareDateTime()
    ends_at = ma.fields.AwareDateTime()
    problem = ma.fields.String(allow_none=True)
    booking_id = ma.fields.Integer(allow_none=True)


class SeriesOut(ma.Schema):
    series_id = ma.fields.String(allow_none=True)
    policy = ma.fields.String(validate=ma.validate.OneOf(("all_or_nothing", "skip_conflicts")))
    dry_run = ma.fields.Boolean()
    occurrences = ma.fields.List(ma.fields.Nested(Occurrence))


class WaitlistOut(ma.Schema):
    id = ma.fields.Integer()
    lab_id = ma.fields.Integer()
    lab_code = ma.fields.Function(lambda e: e.lab.code)
    starts_at = ma.fields.AwareDateTime()
    ends_at = ma.fields.AwareDateTime()
    status = ma.fields.String(validate=ma.validate.OneOf(("waiting", "promoted", "withdrawn")))
    booking_id = ma.fields.Integer(allow_none=True)


class BookingQuery(ma.Schema):
    lab_id = Id()
    status = ma.fields.String(validate=ma.validate.OneOf(domain.STATES))
    limit = ma.fields.Integer(load_default=200, validate=ma.validate.Range(min=1, max=1000))
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=10**9))


class ActionIn(ma.Schema):
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000),
                            metadata={"description": "the reason, told to the enterprise; required to reject"})


class FeeQuery(ma.Schema):
    starts_at = Moment(required=True)
    ends_at = Moment(required=True)
    batches = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1000))


class FeeOut(ma.Schema):
    lab_id = ma.fields.Integer()
    fee = Money(metadata={"pattern": r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$", "example": "300.00"})
    public_benefit = ma.fields.Boolean()


class MonthQuery(ma.Schema):
    month = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])$"),
                             metadata={"example": "2026-11"})


class UsageOut(ma.Schema):
    lab_id = ma.fields.Integer()
    month = ma.fields.String()
    open_bay_hours = ma.fields.Float()
    booked_hours = ma.fields.Float()
    utilisation = ma.fields.Float()
    bookings = ma.fields.Integer()
    no_shows = ma.fields.Integer()
    enterprises_served = ma.fields.Integer()
    batches_tested = ma.fields.Integer()


class WeekQuery(ma.Schema):
    monday = CalendarDate(required=True, metadata={"description": "the Monday the week starts on"})

    @ma.validates("monday")
    def _a_monday(self, day, **_kwargs):
        if day.weekday() != 0:
            raise ma.ValidationError(N_("must be a Monday"))


class WeekDay(ma.Schema):
    date = ma.fields.Date()
    open_bay_hours = ma.fields.Float()
    free_bay_hours = ma.fields.Float()
    holiday = ma.fields.String(allow_none=True)


class WeekLab(ma.Schema):
    lab_id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    discipline = ma.fields.String()
    days = ma.fields.List(ma.fields.Nested(WeekDay))


class WeekOut(ma.Schema):
    monday = ma.fields.Date()
    calendar_note = ma.fields.String(allow_none=True)
    labs = ma.fields.List(ma.fields.Nested(WeekLab))


class FeedOut(ma.Schema):
    url = ma.fields.Url(metadata={"description": "iCalendar feed; the address is the secret, keep it so"})
