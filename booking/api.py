"""/api/v1: availability, bookings, recurring series, the waitlist, approvals, statistics."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import marshmallow as ma

from flask import request, url_for

from booking import availability as avail
from booking import calendar, domain, service, stats
from booking.service import BookingRequest
from labs.accounts.auth import current_user
from labs.api import Blueprint, CalendarDate, Id, Moment, Money
from labs.db import get_session

blp = Blueprint("booking", __name__, url_prefix="/api/v1", description="Availability and bookings")
BEARER = [{"bearerAuth": []}]


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
    test_type = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    sample_description = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))
    batches = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1000))
    contact_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    contact_phone = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^\+?[0-9][0-9 -]{4,38}$"))
    instrument_ids = ma.fields.List(Id(),
                                    load_default=list, validate=ma.validate.Length(max=50))
    missing_documents = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))
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
    status = ma.fields.String()
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
    overdue = ma.fields.Function(lambda b: service.is_overdue(b, dt.datetime.now(ZoneInfo(b.lab.timezone)).date()))
    decision_note = ma.fields.String()
    missing_documents = ma.fields.String()
    commitment_signed = ma.fields.Boolean()
    documents_due = ma.fields.Date(allow_none=True)


class Occurrence(ma.Schema):
    starts_at = ma.fields.AwareDateTime()
    ends_at = ma.fields.AwareDateTime()
    problem = ma.fields.String(allow_none=True)
    booking_id = ma.fields.Integer(allow_none=True)


class SeriesOut(ma.Schema):
    series_id = ma.fields.String(allow_none=True)
    policy = ma.fields.String()
    dry_run = ma.fields.Boolean()
    occurrences = ma.fields.List(ma.fields.Nested(Occurrence))


class WaitlistOut(ma.Schema):
    id = ma.fields.Integer()
    lab_id = ma.fields.Integer()
    lab_code = ma.fields.Function(lambda e: e.lab.code)
    starts_at = ma.fields.AwareDateTime()
    ends_at = ma.fields.AwareDateTime()
    status = ma.fields.String()
    booking_id = ma.fields.Integer(allow_none=True)


class BookingQuery(ma.Schema):
    lab_id = Id()
    status = ma.fields.String(validate=ma.validate.OneOf(domain.STATES))
    limit = ma.fields.Integer(load_default=200, validate=ma.validate.Range(min=1, max=1000))
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=10**9))


class ActionIn(ma.Schema):
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))


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
    monday = CalendarDate(required=True)


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


@blp.route("/labs/<int:lab_id>/availability", methods=["GET"])
@blp.arguments(RangeQuery, location="query")
@blp.response(200, AvailabilityOut)
@blp.errors(404)
def lab_availability(query, lab_id):
    """Open hours, closures, and busy and free time per bay, day by day (at most 62 days)."""
    return avail.availability(get_session(), lab_id, query["from_"], query["to"])


@blp.route("/week", methods=["GET"])
@blp.arguments(WeekQuery, location="query")
@blp.response(200, WeekOut)
@blp.errors()
def week(query):
    """Free bay-hours per day of every lab for the week starting on `monday`."""
    return avail.week_overview(get_session(), query["monday"])


@blp.route("/bookings", methods=["POST"])
@blp.arguments(BookingIn)
@blp.response(201, BookingOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def request_booking(body):
    """Request a slot. It is held from now on; 409 names the slots in the way."""
    db = get_session()
    booking = service.request_booking(db, current_user(), BookingRequest(**_request_fields(body)))
    db.commit()
    return booking


def _request_fields(body: dict) -> dict:
    fields = {k: v for k, v in body.items() if k not in ("weeks", "policy", "dry_run")}
    fields["instrument_ids"] = tuple(fields["instrument_ids"])
    return fields


@blp.route("/bookings", methods=["GET"])
@blp.arguments(BookingQuery, location="query")
@blp.response(200, BookingOut(many=True))
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def list_bookings(query):
    return service.list_bookings(get_session(), current_user(), **query)


@blp.route("/bookings/<int:booking_id>", methods=["GET"])
@blp.response(200, BookingOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def get_booking(booking_id):
    return service.get_booking(get_session(), current_user(), booking_id)


@blp.route("/bookings/<int:booking_id>/<any(approve, reject, cancel, check_in, complete, no_show):action>",
           methods=["POST"])
@blp.arguments(ActionIn)
@blp.response(200, BookingOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def act_on_booking(body, booking_id, action):
    """Move a booking through its states; who may do what is in booking.domain.TRANSITIONS."""
    db = get_session()
    booking = service.transition(db, current_user(), booking_id, action, body["note"])
    db.commit()
    return booking


@blp.route("/bookings/<int:booking_id>/documents", methods=["POST"])
@blp.response(200, BookingOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def submit_documents(booking_id):
    """The missing documents were delivered: the booking no longer lapses."""
    db = get_session()
    booking = service.submit_documents(db, current_user(), booking_id)
    db.commit()
    return booking


@blp.route("/booking-series", methods=["POST"])
@blp.arguments(SeriesIn)
@blp.response(201, SeriesOut, description="The series is booked (the occurrences that could be).")
@blp.alt_response(200, schema=SeriesOut, description="A dry run: each occurrence's problem, nothing booked.")
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def request_series(body):
    """A weekly recurring booking; `dry_run` reports each occurrence's conflict without booking."""
    db = get_session()
    report = service.request_series(db, current_user(), BookingRequest(**_request_fields(body)),
                                    body["weeks"], body["policy"], body["dry_run"])
    db.commit()
    return report, 200 if body["dry_run"] else 201


@blp.route("/waitlist", methods=["POST"])
@blp.arguments(BookingIn)
@blp.response(201, WaitlistOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def join_waitlist(body):
    db = get_session()
    entry = service.join_waitlist(db, current_user(), BookingRequest(**_request_fields(body)))
    db.commit()
    return entry


@blp.route("/waitlist", methods=["GET"])
@blp.response(200, WaitlistOut(many=True))
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def waitlist():
    """The caller's enterprise's places on waitlists for slots still ahead (waiting, promoted, withdrawn)."""
    return service.waitlist_of(get_session(), current_user())


@blp.route("/waitlist/<int:entry_id>", methods=["DELETE"])
@blp.response(200, WaitlistOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def leave_waitlist(entry_id):
    """Give up a place on the waitlist; the entry stays, withdrawn."""
    db = get_session()
    entry = service.leave_waitlist(db, current_user(), entry_id)
    db.commit()
    return entry


class FeedOut(ma.Schema):
    url = ma.fields.Url(metadata={"description": "iCalendar feed; the address is the secret, keep it so"})


@blp.route("/labs/<int:lab_id>/calendar-feed", methods=["GET", "POST"])
@blp.response(200, FeedOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def lab_calendar_feed(lab_id):
    """The lab's calendar feed address, for its managers; POST makes a new one and the old stops working."""
    db = get_session()
    token = calendar.lab_feed_token(db, current_user(), lab_id, renew=request.method == "POST")
    db.commit()
    return {"url": url_for("feeds.lab_feed", token=token, _external=True)}


@blp.route("/me/calendar-feed", methods=["GET", "POST"])
@blp.response(200, FeedOut)
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def enterprise_calendar_feed():
    """The calendar feed address of the caller's enterprise; POST makes a new one and the old stops working."""
    db = get_session()
    token = calendar.enterprise_feed_token(db, current_user(), renew=request.method == "POST")
    db.commit()
    return {"url": url_for("feeds.enterprise_feed", token=token, _external=True)}


@blp.route("/approvals", methods=["GET"])
@blp.response(200, BookingOut(many=True))
@blp.errors(401, 403)
@blp.doc(security=BEARER)
def approval_queue():
    """Pending requests of the labs the caller manages, oldest first, overdue ones flagged."""
    return service.approval_queue(get_session(), current_user())


@blp.route("/labs/<int:lab_id>/usage", methods=["GET"])
@blp.arguments(MonthQuery, location="query")
@blp.response(200, UsageOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def usage(query, lab_id):
    year, month = map(int, query["month"].split("-"))
    return stats.monthly_usage(get_session(), current_user(), lab_id, year, month)
