"""The booking feature's schemas, shared by its API (booking.api) and its pages (booking.views)."""
from __future__ import annotations

import marshmallow as ma

from flask_smorest.fields import Upload

from booking import availability, documents, domain, service
from labs.api import CalendarDate, Id, Line, Moment, Money, Text
from labs.i18n import N_

# How a weekly series treats the weeks that cannot be booked.
POLICIES = ("all_or_nothing", "skip_conflicts")
STATUS = ("requested (waits for a manager), approved, checked_in (the enterprise arrived), completed, "
          "rejected, cancelled, no_show, lapsed (committed documents did not arrive in time); requested, "
          "approved and checked_in hold the bay")
CALENDAR_NOTE = ("why some days off may be missing: the national holiday calendar of a year in range is not "
                 "published yet (in the Accept-Language language); null: every year is known")
HOLIDAY = "the holiday's name (National Day) on its days off and on its make-up working days; null: neither"


def _fee(description: str) -> Money:
    # A booking's fee (NUMERIC(14, 2)) may exceed a rate's eight digits: 24 h and 1000 batches.
    return Money(validate=ma.validate.Range(min=0),
                 metadata={"pattern": r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$", "description": description})


class RangeQuery(ma.Schema):
    from_ = CalendarDate(required=True, data_key="from",
                         metadata={"description": "the first day, in the lab's time zone"})
    to = CalendarDate(required=True, metadata={
        "description": f"the last day, included; from `from` to `to` is at most {availability.MAX_DAYS} days"})


class Span(ma.Schema):
    starts_at = ma.fields.AwareDateTime(metadata={"description": "when the span begins, with its UTC offset"})
    ends_at = ma.fields.AwareDateTime(metadata={"description": "when it ends (not included), with the same offset"})


class ClosureSpan(Span):
    reason = ma.fields.String(metadata={"description": "why the lab is closed, as its manager wrote it"})


class BayDay(ma.Schema):
    bay = ma.fields.Integer(metadata={"description": "the bay's number, 1 to the lab's `bays`"})
    busy = ma.fields.List(ma.fields.Nested(Span), metadata={
        "description": "the bay's requested, approved and checked-in bookings that meet the day's opening hours"})
    free = ma.fields.List(ma.fields.Nested(Span), metadata={
        "description": "what can still be booked on the bay: opening hours less closures, bookings and "
                       "time already past (up to the lab's next slot step)"})


class DayOut(ma.Schema):
    date = ma.fields.Date(metadata={"description": "the day, in the lab's time zone"})
    working_day = ma.fields.Boolean(metadata={
        "description": "a working day on the national holiday calendar, make-up working days included"})
    holiday = ma.fields.String(allow_none=True, metadata={"description": HOLIDAY})
    calendar_covered = ma.fields.Boolean(metadata={
        "description": "false: the day's year is not in the holiday calendar yet; only the holidays the law "
                       "fixes and weekends count as days off (see `calendar_note`)"})
    open = ma.fields.List(ma.fields.Nested(Span), metadata={
        "description": "the lab's opening hours that day; none on a statutory holiday or a day without service"})
    closures = ma.fields.List(ma.fields.Nested(ClosureSpan),
                              metadata={"description": "the lab's closures that meet the day's opening hours"})
    bays = ma.fields.List(ma.fields.Nested(BayDay), metadata={"description": "each bay's busy and free time"})


class InstrumentValidity(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "the instrument's id, for a booking's `instrument_ids`"})
    code = ma.fields.String(metadata={"description": "the lab's code for it"})
    name = ma.fields.String(metadata={"description": "what it is"})
    calibration_valid_until = ma.fields.Date(
        metadata={"description": "the last day its calibration is valid, in the lab's time zone"})
    usable_until_end = ma.fields.Boolean(metadata={
        "description": "its calibration holds through `to`: it may be booked on any day of the range"})


class AvailabilityOut(ma.Schema):
    lab_id = ma.fields.Integer(metadata={"description": "the lab's id"})
    timezone = ma.fields.String(metadata={"description": "the lab's IANA time zone, of its days and opening hours"})
    from_ = ma.fields.Date(data_key="from", metadata={"description": "the first day, as asked"})
    to = ma.fields.Date(metadata={"description": "the last day, as asked"})
    calendar_note = ma.fields.String(allow_none=True, metadata={"description": CALENDAR_NOTE})
    instruments = ma.fields.List(ma.fields.Nested(InstrumentValidity),
                                 metadata={"description": "the lab's instruments in service"})
    days = ma.fields.List(ma.fields.Nested(DayOut), metadata={"description": "one per day, `from` to `to`"})


class BookingIn(ma.Schema):
    lab_id = Id(required=True, metadata={"description": "the lab to book"})
    starts_at = Moment(required=True, metadata={
        "description": "when the slot begins, with its UTC offset; on the lab's slot step, within its "
                       "opening hours, not past and at most the lab's `max_advance_days` ahead"})
    ends_at = Moment(required=True, metadata={
        "description": "when it ends, with its UTC offset; within the same opening hours, the slot as long as "
                       "the lab allows (`min_duration_minutes` to `max_duration_minutes`)"})
    test_type = Line(required=True, validate=ma.validate.Length(min=1, max=200),
                     metadata={"description": "the test to run"})
    sample_description = Text(required=True, validate=ma.validate.Length(min=1, max=2000),
                              metadata={"description": "the samples brought: what, how many, their state"})
    batches = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1000),
                                metadata={"description": "test batches, charged at the lab's `fee_per_batch`"})
    contact_name = Line(required=True, validate=ma.validate.Length(min=1, max=100),
                        metadata={"description": "whom the lab calls about the booking"})
    contact_phone = Line(required=True, validate=ma.validate.Regexp(r"^\+?[0-9][0-9 -]{4,38}$"),
                         metadata={"description": "their telephone number: digits, spaces and hyphens, "
                                                  "an optional leading +"})
    instrument_ids = ma.fields.List(Id(), load_default=list, validate=ma.validate.Length(max=50), metadata={
        "description": "the lab's instruments the test uses; each calibrated through the slot's last day"})
    missing_documents = Text(load_default="", validate=ma.validate.Length(max=2000), metadata={
        "description": "documents still missing, to be delivered later (容缺受理); empty: none missing"})
    commitment_signed = ma.fields.Boolean(load_default=False, metadata={
        "description": "the enterprise signs the commitment to deliver them; required with `missing_documents`"})


class SeriesIn(BookingIn):
    weeks = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=52), metadata={
        "description": "how many weeks in a row, from the slot's week, at the same local wall-clock time"})
    policy = ma.fields.String(required=True, validate=ma.validate.OneOf(POLICIES), metadata={
        "description": "all_or_nothing: a week that cannot be booked refuses the series (409, nothing booked); "
                       "skip_conflicts: the other weeks are booked"})
    dry_run = ma.fields.Boolean(load_default=False,
                                metadata={"description": "true: report each week's problem, book nothing"})


class BookingOut(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "the booking's id"})
    lab_id = ma.fields.Integer(metadata={"description": "the lab booked"})
    lab_code = ma.fields.String(attribute="lab.code", metadata={"description": "the lab's code"})
    bay = ma.fields.Integer(metadata={"description": "the bay it holds, 1 to the lab's `bays`"})
    enterprise_id = ma.fields.Integer(metadata={"description": "the enterprise that booked"})
    series_id = ma.fields.String(allow_none=True, metadata={
        "description": "the weekly series it is a week of (32 hexadecimal digits); null: a single booking"})
    starts_at = ma.fields.AwareDateTime(metadata={"description": "when the slot begins, with its UTC offset"})
    ends_at = ma.fields.AwareDateTime(metadata={"description": "when it ends, with its UTC offset"})
    status = ma.fields.String(validate=ma.validate.OneOf(domain.STATES), metadata={"description": STATUS})
    test_type = ma.fields.String(metadata={"description": "the test to run"})
    sample_description = ma.fields.String(metadata={"description": "the samples brought"})
    batches = ma.fields.Integer(metadata={"description": "test batches"})
    contact_name = ma.fields.String(metadata={"description": "whom the lab calls about the booking"})
    contact_phone = ma.fields.String(metadata={"description": "their telephone number"})
    instrument_ids = ma.fields.Function(lambda b: [i.id for i in b.instruments], metadata={
        "type": "array", "items": {"type": "integer"}, "description": "the lab's instruments the test uses"})
    fee = _fee("yuan, fixed when requested: hours pro rata and batches at the lab's rates; 0.00 in a "
               "public-benefit lab")
    created_at = ma.fields.AwareDateTime(metadata={"description": "when it was requested"})
    approval_due = ma.fields.Date(allow_none=True, metadata={
        "description": "the last working day for the lab to decide, in its time zone; null: approved at once "
                       "(instant approval)"})
    overdue = ma.fields.Function(lambda b: service.is_overdue(b), metadata={
        "type": "boolean", "description": "still requested after `approval_due`"})
    decision_note = ma.fields.String(metadata={
        "description": "the note given with the latest action (a rejection's reason); empty: none"})
    missing_documents = ma.fields.String(metadata={
        "description": "documents the enterprise committed to deliver later (容缺受理); empty: none missing"})
    commitment_signed = ma.fields.Boolean(metadata={"description": "the enterprise signed that commitment"})
    documents_due = ma.fields.Date(allow_none=True, metadata={
        "description": "the last day to deliver them, in the lab's time zone, no later than the slot's day; "
                       "null: none missing"})
    documents_received_at = ma.fields.AwareDateTime(
        allow_none=True, metadata={"description": "when the lab confirmed the missing documents received"})
    awaiting_documents = ma.fields.Function(
        lambda b: service.awaiting_documents(b),
        metadata={"type": "boolean",
                  "description": "documents were missing and the lab has not confirmed them received: "
                                 "the booking lapses at their deadline and cannot be checked in"})


class DocumentOut(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "the document's id"})
    booking_id = ma.fields.Integer(metadata={"description": "the booking it was uploaded for"})
    filename = ma.fields.String(metadata={"description": "the file's name as uploaded (cleaned), for the download"})
    content_type = ma.fields.String(metadata={"enum": [documents.PDF, documents.PNG, documents.JPEG],
                                              "description": "what the content was found to be"})
    size_bytes = ma.fields.Integer(metadata={"description": "the file's size, in bytes"})
    sha256 = ma.fields.String(metadata={"description": "the SHA-256 of the file, 64 hexadecimal digits"})
    uploaded_at = ma.fields.AwareDateTime(metadata={"description": "when it was uploaded"})


class DocumentIn(ma.Schema):
    file = Upload(required=True, metadata={
        "description": f"a PDF, PNG or JPEG file of at most {documents.LIMIT_BYTES // 1024 // 1024} MiB, "
                       "judged by its content"})


class Occurrence(ma.Schema):
    starts_at = ma.fields.AwareDateTime(metadata={"description": "when the week's slot begins, with its UTC offset"})
    ends_at = ma.fields.AwareDateTime(metadata={"description": "when it ends, with its UTC offset"})
    problem = ma.fields.String(allow_none=True, metadata={
        "description": "why the week cannot be booked, in the Accept-Language language; null: it can"})
    booking_id = ma.fields.Integer(allow_none=True, metadata={
        "description": "the booking made for the week; null: none (a dry run, or the week was skipped)"})


class SeriesOut(ma.Schema):
    series_id = ma.fields.String(allow_none=True, metadata={
        "description": "the series' key (32 hexadecimal digits), for /booking-series; null: a dry run"})
    policy = ma.fields.String(validate=ma.validate.OneOf(POLICIES), metadata={"description": "as asked"})
    dry_run = ma.fields.Boolean(metadata={"description": "as asked: true, nothing was booked"})
    occurrences = ma.fields.List(ma.fields.Nested(Occurrence), metadata={"description": "one per week, in order"})


class WaitlistOut(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "the waitlist entry's id"})
    lab_id = ma.fields.Integer(metadata={"description": "the lab"})
    lab_code = ma.fields.String(attribute="lab.code", metadata={"description": "the lab's code"})
    starts_at = ma.fields.AwareDateTime(metadata={"description": "when the slot waited for begins, with its UTC offset"})
    ends_at = ma.fields.AwareDateTime(metadata={"description": "when it ends, with its UTC offset"})
    status = ma.fields.String(validate=ma.validate.OneOf(tuple(service.WAITLIST_STATUS_NAMES)), metadata={
        "description": "waiting; promoted: the slot freed up and was booked (`booking_id`); withdrawn: given up"})
    booking_id = ma.fields.Integer(allow_none=True,
                                   metadata={"description": "the booking made on promotion; null: not promoted"})


class BookingQuery(ma.Schema):
    lab_id = Id(metadata={"description": "only this lab's bookings"})
    status = ma.fields.String(validate=ma.validate.OneOf(domain.STATES),
                              metadata={"description": "only bookings in this state"})
    limit = ma.fields.Integer(load_default=200, validate=ma.validate.Range(min=1, max=1000),
                              metadata={"description": "at most this many bookings"})
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=10**9),
                               metadata={"description": "how many to skip first, latest start first"})


class ActionIn(ma.Schema):
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000),
                            metadata={"description": "the reason, told to the enterprise; required to reject"})


class FeeQuery(ma.Schema):
    starts_at = Moment(required=True, metadata={"description": "when the slot would begin, with its UTC offset"})
    ends_at = Moment(required=True, metadata={"description": "when it would end, after `starts_at`"})
    batches = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1000),
                                metadata={"description": "test batches"})


class FeeOut(ma.Schema):
    lab_id = ma.fields.Integer(metadata={"description": "the lab's id"})
    fee = _fee("yuan: hours pro rata and batches at the lab's rates")
    public_benefit = ma.fields.Boolean(metadata={"description": "a public-benefit lab: the fee is 0.00"})


class MonthQuery(ma.Schema):
    month = Line(required=True, validate=ma.validate.Regexp(r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])$"),
                 metadata={"example": "2026-11", "description": "the month (YYYY-MM), in the lab's time zone"})


class UsageOut(ma.Schema):
    lab_id = ma.fields.Integer(metadata={"description": "the lab's id"})
    month = ma.fields.String(metadata={"description": "the month (YYYY-MM), in the lab's time zone"})
    open_bay_hours = ma.fields.Float(metadata={
        "description": "hours open less closures, times the bays, by the opening hours in force each day"})
    booked_hours = ma.fields.Float(metadata={
        "description": "hours of the bookings starting in the month that were approved and not given back "
                       "(approved, checked in, completed or no-show)"})
    utilisation = ma.fields.Float(metadata={
        "description": "`booked_hours` over `open_bay_hours`, a fraction to 4 decimals; 0 when never open"})
    bookings = ma.fields.Integer(metadata={"description": "the bookings counted in `booked_hours`"})
    no_shows = ma.fields.Integer(metadata={"description": "of those, the no-shows"})
    enterprises_served = ma.fields.Integer(metadata={"description": "enterprises with a completed booking"})
    batches_tested = ma.fields.Integer(metadata={"description": "test batches of the completed bookings"})


class WeekQuery(ma.Schema):
    monday = CalendarDate(required=True, metadata={"description": "the Monday the week starts on"})

    @ma.validates("monday")
    def _a_monday(self, day, **_kwargs):
        if day.weekday() != 0:
            raise ma.ValidationError(N_("must be a Monday"))


class WeekDay(ma.Schema):
    date = ma.fields.Date(metadata={"description": "the day, in the lab's time zone"})
    open_bay_hours = ma.fields.Float(metadata={"description": "hours open less closures, times the bays"})
    free_bay_hours = ma.fields.Float(metadata={"description": "hours still free to book, summed over the bays"})
    holiday = ma.fields.String(allow_none=True, metadata={"description": HOLIDAY})


class WeekLab(ma.Schema):
    lab_id = ma.fields.Integer(metadata={"description": "the lab's id"})
    code = ma.fields.String(metadata={"description": "the lab's code"})
    name = ma.fields.String(metadata={"description": "the lab's name"})
    discipline = ma.fields.String(metadata={"description": "what it tests"})
    days = ma.fields.List(ma.fields.Nested(WeekDay), metadata={"description": "Monday to Sunday"})


class WeekOut(ma.Schema):
    monday = ma.fields.Date(metadata={"description": "the Monday the week starts on, as asked"})
    calendar_note = ma.fields.String(allow_none=True, metadata={"description": CALENDAR_NOTE})
    labs = ma.fields.List(ma.fields.Nested(WeekLab), metadata={"description": "every lab, by code"})


class FeedOut(ma.Schema):
    url = ma.fields.Url(metadata={"description": "iCalendar feed; the address is the secret, keep it so"})
