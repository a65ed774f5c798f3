"""Enterprise pages (request form, my bookings) and lab-manager pages (approval queue, lab calendar)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from booking import calendar, service
from booking.api import BookingIn, SeriesIn
from booking.service import BookingRequest
from labs.accounts.auth import current_user
from labs.accounts.service import require_role
from labs.catalog.service import get_lab, list_labs
from labs.db import get_session
from labs.errors import Conflict
from labs.web.common import STATUS, DomainError, domain_error_page, load, local, save, today, week_of

blp = Blueprint("bookings", __name__)
blp.register_error_handler(DomainError, domain_error_page)
# The form's own fields; the slot is read from date + start + end in the lab's time zone.
FORM_FIELDS = ("lab_id", "test_type", "sample_description", "batches", "contact_name", "contact_phone",
               "missing_documents")


class RepeatIn(SeriesIn):
    """The form's repeat fields, checked as the API checks them (absent: once)."""

    class Meta:
        fields = ("weeks", "policy")


def _read_request(form, labs) -> tuple[dict, dict[str, list[str]]]:
    """The booking request from the form, or messages per field."""
    data = {k: form.get(k, "").strip() for k in FORM_FIELDS}
    data["instrument_ids"] = form.getlist("instrument_ids")
    data["commitment_signed"] = "commitment_signed" in form
    lab = next((lab for lab in labs if str(lab.id) == data["lab_id"]), None)
    parsed, errors = {}, {}
    for name, parse, message in (("date", dt.date.fromisoformat, _("Enter a date as YYYY-MM-DD.")),
                                 ("start", dt.time.fromisoformat, _("Enter a time as HH:MM.")),
                                 ("end", dt.time.fromisoformat, _("Enter a time as HH:MM."))):
        try:
            parsed[name] = parse(form.get(name, ""))
        except ValueError:
            errors[name] = [message]
    moments = {}
    if lab is not None and not errors:
        tz = ZoneInfo(lab.timezone)
        moments = {"starts_at": dt.datetime.combine(parsed["date"], parsed["start"], tz),
                   "ends_at": dt.datetime.combine(parsed["date"], parsed["end"], tz)}
        # Checked as the API checks them: a year like 9999 passes the date field, and a weekly
        # series from it would overflow Python's dates.
        data.update({k: v.isoformat() for k, v in moments.items()})
    fields, load_errors = load(BookingIn(partial=("starts_at", "ends_at")), data)
    errors = {**load_errors, **errors}
    if lab is None:
        errors["lab_id"] = [_("Choose a lab.")]
    if errors:
        return {}, errors
    fields.update(moments)
    fields["instrument_ids"] = tuple(fields["instrument_ids"])
    return fields, errors


@blp.route("/bookings/new", methods=["GET", "POST"])
def new_booking():
    """One slot, the same slot weekly (all or nothing, or skipping what is taken), or a place on the
    waitlist for a slot that is taken."""
    db, actor = get_session(), current_user()
    require_role(actor, "enterprise")
    labs = list_labs(db)
    if request.method == "GET":
        form = {"lab_id": request.args.get("lab_id", ""), "date": request.args.get("date", ""),
                "batches": "1", "contact_name": actor.name, "weeks": "1", "policy": "all_or_nothing"}
        return render_template("booking_form.html", labs=labs, form=form, errors={}, today=today())
    fields, errors = _read_request(request.form, labs)
    repeat, repeat_errors = load(RepeatIn(partial=True), {k: request.form.get(k, "") for k in ("weeks", "policy")})
    errors.update(repeat_errors)
    weeks, policy = repeat.get("weeks", 1), repeat.get("policy", "all_or_nothing")
    conflict = None
    if not errors:
        req = BookingRequest(**fields)
        if "waitlist" in request.form:
            entry, errors, conflict = save(lambda: service.join_waitlist(db, actor, req), "starts_at")
            if entry:
                flash(_("You are on the waitlist: if the slot frees up, it is booked for you and you are told."), "info")
                return redirect(url_for("bookings.mine"))
        elif weeks > 1:
            report, errors, conflict = save(lambda: service.request_series(db, actor, req, weeks, policy), "starts_at")
            if report:
                booked = [o for o in report["occurrences"] if o["booking_id"]]
                flash(_("%(n)s of %(weeks)s weekly bookings made.", n=len(booked), weeks=weeks), "info")
                for o in report["occurrences"]:
                    if o["problem"]:
                        flash(_("Skipped %(date)s: %(problem)s", date=local(o["starts_at"], _tz(labs, req.lab_id)),
                                problem=o["problem"]), "error")
                return redirect(url_for("bookings.mine"))
        else:
            booking, errors, conflict = save(lambda: service.request_booking(db, actor, req), "starts_at")
            if booking:
                flash(_("Booking #%(id)s is %(status)s.", id=booking.id, status=STATUS[booking.status]), "info")
                return redirect(url_for("bookings.mine"))
    extra = conflict.extra if conflict else {}
    return render_template("booking_form.html", labs=labs, form=request.form, errors=errors,
                           conflicts=extra.get("conflicts", []), occurrences=extra.get("occurrences", []),
                           lab_tz=_tz(labs, fields.get("lab_id")), today=today()), 409 if conflict else 422


def _tz(labs, lab_id) -> str | None:
    return next((lab.timezone for lab in labs if lab.id == lab_id), None)


@blp.get("/bookings")
def mine():
    actor = current_user()
    require_role(actor, "enterprise")
    db = get_session()
    return render_template("my_bookings.html", bookings=service.list_bookings(db, actor),
                           waitlist=service.waitlist_of(db, actor))


def _button(call, done) -> None:
    """A change made by a button: commit it and flash `done(result)`, or flash why it was refused."""
    db = get_session()
    try:
        result = call()
        db.commit()
        flash(done(result), "info")
    except Conflict as exc:
        db.rollback()
        flash(exc.detail, "error")


@blp.post("/waitlist/<int:entry_id>/leave")
def leave_waitlist(entry_id: int):
    _button(lambda: service.leave_waitlist(get_session(), current_user(), entry_id),
            lambda _entry: _("You left the waitlist."))
    return redirect(url_for("bookings.mine"))


@blp.post("/bookings/<int:booking_id>/<any(approve, reject, cancel):action>")
def act(booking_id: int, action: str):
    note = request.form.get("note", "")[:2000]
    _button(lambda: service.transition(get_session(), current_user(), booking_id, action, note),
            lambda b: _("Booking #%(id)s is %(status)s.", id=b.id, status=STATUS[b.status]))
    back = request.form.get("back")
    return redirect(url_for(back) if back in ("bookings.mine", "bookings.approvals") else url_for("web.catalog"))


@blp.post("/bookings/<int:booking_id>/documents")
def documents_delivered(booking_id: int):
    """The enterprise delivered what it committed to (容缺受理): the booking no longer lapses."""
    _button(lambda: service.submit_documents(get_session(), current_user(), booking_id),
            lambda _booking: _("Booking #%(id)s: documents delivered.", id=booking_id))
    return redirect(url_for("bookings.mine"))


@blp.post("/labs/<int:lab_id>/calendar/feed")
def renew_lab_feed(lab_id: int):
    db = get_session()
    calendar.lab_feed_token(db, current_user(), lab_id, renew=True)
    db.commit()
    flash(_("The calendar feed has a new address; the old one no longer works."), "info")
    return redirect(url_for("bookings.lab_calendar", lab_id=lab_id))


@blp.post("/bookings/feed")
def renew_enterprise_feed():
    db = get_session()
    calendar.enterprise_feed_token(db, current_user(), renew=True)
    db.commit()
    flash(_("The calendar feed has a new address; the old one no longer works."), "info")
    return redirect(url_for("bookings.mine"))


@blp.get("/approvals")
def approvals():
    queue = service.approval_queue(get_session(), current_user())
    rows = [(b, service.is_overdue(b, today(b.lab.timezone))) for b in queue]
    return render_template("approvals.html", rows=rows)


@blp.get("/labs/<int:lab_id>/calendar")
def lab_calendar(lab_id: int):
    db = get_session()
    lab = get_lab(db, lab_id)
    tz = ZoneInfo(lab.timezone)
    monday = week_of(request.args.get("week"), lab.timezone)
    start = dt.datetime.combine(monday, dt.time(), tz)
    bookings = service.lab_bookings_between(db, current_user(), lab_id, start, start + dt.timedelta(days=7))
    days = [(monday + dt.timedelta(days=i),
             [b for b in bookings if b.starts_at.astimezone(tz).date() == monday + dt.timedelta(days=i)])
            for i in range(7)]
    return render_template("lab_calendar.html", lab=lab, days=days, monday=monday, timedelta=dt.timedelta)
