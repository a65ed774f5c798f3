"""/api/v1: availability, bookings, recurring series, the waitlist, approvals, statistics."""
from __future__ import annotations

from flask import request, url_for

from booking import availability as avail
from booking import calendar, service, stats
from booking.schemas import (ActionIn, AvailabilityOut, BookingIn, BookingOut, BookingQuery, FeedOut, MonthQuery,
                             RangeQuery, SeriesIn, SeriesOut, UsageOut, WaitlistOut, WeekOut, WeekQuery)
from booking.service import BookingRequest
from labs.accounts.auth import current_user
from labs.api import Blueprint
from labs.db import get_session

blp = Blueprint("booking", __name__, url_prefix="/api/v1", description="Availability and bookings")
BEARER = [{"bearerAuth": []}]


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
