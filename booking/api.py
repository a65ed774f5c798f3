"""/api/v1: availability, bookings, recurring series, the waitlist, approvals, statistics."""
from __future__ import annotations

from flask import request, send_file, url_for

from booking import availability as avail
from booking import calendar, documents, service, stats
from booking.schemas import (ActionIn, AvailabilityOut, BookingIn, BookingOut, BookingQuery, DocumentIn, DocumentOut,
                             FeedOut, FeeOut, FeeQuery, MonthQuery, RangeQuery, SeriesIn, SeriesOut, UsageOut,
                             WaitlistOut, WeekOut, WeekQuery)
from booking.service import BookingRequest
from labs.accounts.auth import current_user
from labs.api import Blueprint
from labs.db import get_session

blp = Blueprint("booking", __name__, url_prefix="/api/v1", description="Availability and bookings")
BEARER = [{"bearerAuth": []}]
IDEMPOTENCY_KEY = {"parameters": [{
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "maxLength": 64, "pattern": "^[A-Za-z0-9_-]{8,64}$"},
    "description": "sent again with the same request (a retry after a lost answer), it returns what "
                   "the first request made instead of booking twice"}]}


@blp.url_value_preprocessor
def _allow_document_uploads(endpoint, _values):
    # Documents run to several MB; every other request keeps the edge's 1 MiB. Set here, since URL
    # value preprocessors run before the before_request functions (one of which reads the body).
    if endpoint == "booking.upload_document" and request.method == "POST":
        request.max_content_length = documents.REQUEST_LIMIT_BYTES


def _idempotency_key() -> str | None:
    """The request's Idempotency-Key, if it is a usable one (else the request is simply not idempotent)."""
    key = request.headers.get("Idempotency-Key", "")
    return key if 8 <= len(key) <= 64 and key.replace("-", "").replace("_", "").isalnum() and key.isascii() else None


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
@blp.doc(security=BEARER, **IDEMPOTENCY_KEY)
def request_booking(body):
    """Request a slot. It is held from now on; 409 names the slots in the way."""
    db = get_session()
    booking = service.request_booking(db, current_user(), BookingRequest(**_request_fields(body)),
                                      request_key=_idempotency_key())
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
    """Bookings the caller may see (an enterprise its own, staff their labs'), newest first."""
    return service.list_bookings(get_session(), current_user(), **query)


@blp.route("/bookings/<int:booking_id>", methods=["GET"])
@blp.response(200, BookingOut)
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def get_booking(booking_id):
    """One booking with its state, fee, deadlines and documents."""
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
@blp.arguments(DocumentIn, location="files")
@blp.response(201, DocumentOut)
@blp.errors(401, 403, 404, 409, 413)
@blp.doc(security=BEARER)
def upload_document(files, booking_id):
    """Upload one of the documents the enterprise committed to deliver (容缺受理). The deadline holds
    until the lab confirms receipt."""
    db = get_session()
    upload = files["file"]
    document = service.upload_document(db, current_user(), booking_id, upload.filename or "", upload.read())
    db.commit()
    return document


@blp.route("/bookings/<int:booking_id>/documents", methods=["GET"])
@blp.response(200, DocumentOut(many=True))
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def list_documents(booking_id):
    """The documents uploaded for a booking, for its enterprise and the lab's staff."""
    return service.get_booking(get_session(), current_user(), booking_id).documents


@blp.route("/bookings/<int:booking_id>/documents/<int:document_id>", methods=["GET"])
@blp.response(200, {"format": "binary", "type": "string"}, content_type="application/octet-stream",
              description="The file as uploaded: a PDF, PNG or JPEG, as an attachment.")
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def download_document(booking_id, document_id):
    """One uploaded document's file, for its enterprise and the lab's staff."""
    document = service.get_document(get_session(), current_user(), booking_id, document_id)
    return send_document(document)


def send_document(document):
    """A stored document as an attachment, of the type its content was found to be (never sniffed)."""
    response = send_file(documents.path_of(document.stored_as), mimetype=document.content_type,
                         as_attachment=True, download_name=document.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.route("/bookings/<int:booking_id>/documents/received", methods=["POST"])
@blp.arguments(ActionIn)
@blp.response(200, BookingOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def confirm_documents(body, booking_id):
    """The lab manager confirms the missing documents arrived: only this clears their deadline."""
    db = get_session()
    booking = service.confirm_documents(db, current_user(), booking_id, body["note"])
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
                                    body["weeks"], body["policy"], body["dry_run"], request_key=_idempotency_key())
    db.commit()
    return report, 200 if body["dry_run"] else 201


SERIES_ID = "<series_id:series_id>"


@blp.route(f"/booking-series/{SERIES_ID}", methods=["GET"])
@blp.response(200, BookingOut(many=True))
@blp.errors(401, 403, 404)
@blp.doc(security=BEARER)
def get_series(series_id):
    """The weeks of a weekly series, first to last."""
    return service.series_bookings(get_session(), current_user(), series_id)


@blp.route(f"/booking-series/{SERIES_ID}/<any(approve, reject, cancel):action>", methods=["POST"])
@blp.arguments(ActionIn)
@blp.response(200, BookingOut(many=True), description="The weeks the action changed.")
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def act_on_series(body, series_id, action):
    """Approve, reject or cancel every week of a series the action still applies to (one week: act on
    its booking)."""
    db = get_session()
    changed = service.transition_series(db, current_user(), series_id, action, body["note"])
    db.commit()
    return changed


@blp.route("/labs/<int:lab_id>/fee", methods=["GET"])
@blp.arguments(FeeQuery, location="query")
@blp.response(200, FeeOut)
@blp.errors(404)
def fee_quote(query, lab_id):
    """What a booking would cost: hours pro rata and test batches, from the lab's schedule of fees."""
    return service.quote_fee(get_session(), lab_id, query["starts_at"], query["ends_at"], query["batches"])


@blp.route("/waitlist", methods=["POST"])
@blp.arguments(BookingIn)
@blp.response(201, WaitlistOut)
@blp.errors(401, 403, 404, 409)
@blp.doc(security=BEARER)
def join_waitlist(body):
    """Wait for a taken slot: when it frees up, the earliest waiting enterprise gets the booking."""
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
    """A lab's usage in a month: utilisation, booked hours, bookings, no-shows, enterprises served."""
    year, month = map(int, query["month"].split("-"))
    return stats.monthly_usage(get_session(), current_user(), lab_id, year, month)
