"""The booking pages: the lab catalog and a lab's week (public), the request form and my bookings
(enterprises), the approval queue, a lab's calendar and the page that manages a lab (its managers'
and the administrators'): its rules, instruments, closures, technicians and managers.

Each route reads its input with the schemas the API uses (booking.schemas, labs.catalog.schemas),
calls one service function and renders a template of templates/booking/.
"""
from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext

from booking import availability, calendar, documents, service, stats
from booking.api import send_document
from booking.schemas import BookingIn, SeriesIn
from booking.service import BookingRequest
from labs.accounts.auth import current_user
from labs.accounts.service import list_users, require_role
from labs.catalog import service as lab_catalog
from labs.catalog.domain import Hours
from labs.catalog.schemas import ClosureIn, InstrumentIn, InstrumentPatch, LabPatch
from labs.db import get_session, utcnow
from labs.errors import Invalid
from labs.web.common import (DomainError, commit_button, commit_form, domain_error_page, local, local_moment,
                             read_form, today, week_of, weekday_name)

blp = Blueprint("bookings", __name__, template_folder="templates")
blp.register_error_handler(DomainError, domain_error_page)

STATUS = {
    "requested": lazy_gettext("requested"), "approved": lazy_gettext("approved"),
    "checked_in": lazy_gettext("checked in"), "rejected": lazy_gettext("rejected"),
    "cancelled": lazy_gettext("cancelled"), "completed": lazy_gettext("completed"),
    "no_show": lazy_gettext("no-show"), "lapsed": lazy_gettext("lapsed"),
}
# The request form's own fields; the slot is read from date + start + end in the lab's time zone.
REQUEST_FIELDS = ("lab_id", "test_type", "sample_description", "batches", "contact_name", "contact_phone",
                  "missing_documents")
USAGE_MONTHS = 6  # the manage page shows this month and the five before it
# The settings form of the manage page: what a lab's managers may change.
SETTINGS = tuple(k for k in lab_catalog.LAB_FIELDS if k not in lab_catalog.FIXED_AT_CREATION)


# What the timeline of a booking says of each entry of its audit trail.
EVENT = {
    "booking.request": lazy_gettext("requested"), "booking.approve": lazy_gettext("approved"),
    "booking.reject": lazy_gettext("rejected"), "booking.cancel": lazy_gettext("cancelled"),
    "booking.check_in": lazy_gettext("checked in"), "booking.complete": lazy_gettext("completed"),
    "booking.no_show": lazy_gettext("recorded as a no-show"), "booking.lapse": lazy_gettext("lapsed"),
    "booking.document": lazy_gettext("document uploaded"),
    "booking.documents_received": lazy_gettext("documents confirmed received"),
}


def local_day(moment: dt.datetime, tz: str) -> dt.date:
    return moment.astimezone(ZoneInfo(tz)).date()


@blp.context_processor
def _booking_context():
    return {"STATUS": STATUS, "local_day": local_day}


# --- public: the catalog and a lab's week ----------------------------------------------------------

@blp.get("/")
def catalog():
    monday = week_of(request.args.get("week"))
    return render_template("booking/catalog.html", week=availability.week_overview(get_session(), monday),
                           monday=monday, timedelta=dt.timedelta, today=today())


@blp.get("/labs/<int:lab_id>")
def lab(lab_id: int):
    db = get_session()
    the_lab = lab_catalog.get_lab(db, lab_id)
    monday = week_of(request.args.get("week"), the_lab.timezone)
    week = availability.availability(db, lab_id, monday, monday + dt.timedelta(days=6))
    return render_template("booking/lab.html", lab=the_lab, week=week, monday=monday,
                           today=today(the_lab.timezone), timedelta=dt.timedelta)


# --- enterprises: requests, their bookings and waitlist places ---------------------------------------

class RepeatIn(SeriesIn):
    """The form's repeat fields, checked as the API checks them (absent: once)."""

    class Meta:
        fields = ("weeks", "policy")


def _read_request(form, labs) -> tuple[dict, dict[str, list[str]]]:
    """The booking request from the form, or messages per field."""
    data = {k: form.get(k, "").strip() for k in REQUEST_FIELDS}
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
        moments = {"starts_at": local_moment(parsed["date"], parsed["start"], lab.timezone),
                   "ends_at": local_moment(parsed["date"], parsed["end"], lab.timezone)}
        # Checked as the API checks them: a year like 9999 passes the date field, and a weekly
        # series from it would overflow Python's dates.
        data.update({k: v.isoformat() for k, v in moments.items()})
    fields, load_errors = read_form(BookingIn(partial=("starts_at", "ends_at")), data)
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
    labs = lab_catalog.list_labs(db)
    if request.method == "GET":
        # From a free slot of a lab's week: its lab, day and times filled in.
        form = {**{k: request.args.get(k, "")[:10] for k in ("lab_id", "date", "start", "end")},
                "batches": "1", "contact_name": actor.name, "weeks": "1", "policy": "all_or_nothing",
                "request_key": uuid.uuid4().hex}
        return render_template("booking/booking_form.html", labs=labs, form=form, errors={}, today=today())
    # The form's own key: the same form sent twice (a double click, a resent page) books once.
    key = request.form.get("request_key", "")
    request_key = key if len(key) == 32 and key.isalnum() and key.isascii() else None
    fields, errors = _read_request(request.form, labs)
    repeat, repeat_errors = read_form(RepeatIn(partial=True),
                                      {k: request.form.get(k, "") for k in ("weeks", "policy")})
    errors.update(repeat_errors)
    weeks, policy = repeat.get("weeks", 1), repeat.get("policy", "all_or_nothing")
    conflict = None
    if not errors:
        req = BookingRequest(**fields)
        if "waitlist" in request.form:
            entry, errors, conflict = commit_form(lambda: service.join_waitlist(db, actor, req), "starts_at")
            if entry:
                flash(_("You are on the waitlist: if the slot frees up, it is booked for you and you are told."),
                      "info")
                return redirect(url_for("bookings.mine"))
        elif weeks > 1:
            report, errors, conflict = commit_form(
                lambda: service.request_series(db, actor, req, weeks, policy, request_key=request_key), "starts_at")
            if report:
                booked = [occurrence for occurrence in report["occurrences"] if occurrence["booking_id"]]
                flash(_("%(n)s of %(weeks)s weekly bookings made.", n=len(booked), weeks=weeks), "info")
                for occurrence in report["occurrences"]:
                    if occurrence["problem"]:
                        flash(_("Skipped %(date)s: %(problem)s",
                                date=local(occurrence["starts_at"], _timezone_of(labs, req.lab_id)),
                                problem=occurrence["problem"]), "error")
                return redirect(url_for("bookings.mine"))
        else:
            booking, errors, conflict = commit_form(
                lambda: service.request_booking(db, actor, req, request_key=request_key), "starts_at")
            if booking:
                flash(_("Booking #%(id)s is %(status)s.", id=booking.id, status=STATUS[booking.status]), "info")
                return redirect(url_for("bookings.booking", booking_id=booking.id))
    extra = conflict.extra if conflict else {}
    return render_template("booking/booking_form.html", labs=labs, form=request.form, errors=errors,
                           conflicts=extra.get("conflicts", []), occurrences=extra.get("occurrences", []),
                           lab_tz=_timezone_of(labs, fields.get("lab_id")), today=today()), \
        409 if conflict else 422


def _timezone_of(labs, lab_id) -> str | None:
    return next((lab.timezone for lab in labs if lab.id == lab_id), None)


@blp.get("/bookings")
def mine():
    actor = current_user()
    require_role(actor, "enterprise")
    db = get_session()
    return render_template("booking/my_bookings.html", rows=by_series(service.list_bookings(db, actor)),
                           waitlist=service.waitlist_of(db, actor))


@blp.post("/waitlist/<int:entry_id>/leave")
def leave_waitlist(entry_id: int):
    commit_button(lambda: service.leave_waitlist(get_session(), current_user(), entry_id),
                  lambda _entry: _("You left the waitlist."))
    return redirect(url_for("bookings.mine"))


# Where a decision's form sends its user back to.
BACK = ("bookings.mine", "bookings.approvals", "bookings.booking")


def _back(booking_id: int | None = None):
    back = request.form.get("back")
    if back == "bookings.booking" and booking_id is not None:
        return redirect(url_for(back, booking_id=booking_id))
    return redirect(url_for(back) if back in BACK[:2] else url_for("bookings.catalog"))


def _decide(call, done) -> None:
    """A decision's button: like commit_button, and a rejection without its reason is flashed."""
    try:
        commit_button(call, done)
    except Invalid as exc:
        get_session().rollback()
        flash(_("A rejection needs its reason: write it in the note.") if exc.code == "reason_required"
              else exc.detail, "error")


@blp.post("/bookings/<int:booking_id>/<any(approve, reject, cancel):action>")
def act(booking_id: int, action: str):
    note = request.form.get("note", "")[:2000]
    _decide(lambda: service.transition(get_session(), current_user(), booking_id, action, note),
            lambda booking: _("Booking #%(id)s is %(status)s.", id=booking.id, status=STATUS[booking.status]))
    return _back(booking_id)


@blp.post("/series/<series_id:series_id>/<any(approve, reject, cancel):action>")
def act_on_series(series_id: str, action: str):
    """Every week of a series at once (one week: its booking's own buttons)."""
    note = request.form.get("note", "")[:2000]
    _decide(lambda: service.transition_series(get_session(), current_user(), series_id, action, note),
            lambda weeks: _("%(n)s weeks are %(status)s.", n=len(weeks), status=STATUS[weeks[0].status]))
    return _back()


@blp.get("/bookings/<int:booking_id>")
def booking(booking_id: int):
    """A booking: its slot, fee and state, the documents, what happened to it, and what can be done."""
    db, actor = get_session(), current_user()
    the_booking = service.get_booking(db, actor, booking_id)
    return render_template("booking/booking.html", b=the_booking, timeline=service.booking_timeline(db, actor, booking_id),
                           awaiting=service.awaiting_documents(the_booking), limit_mb=documents.LIMIT_BYTES // 1024 // 1024,
                           series=service.series_bookings(db, actor, the_booking.series_id) if the_booking.series_id else [],
                           errors={}, EVENT=EVENT)


@blp.get("/bookings/<int:booking_id>/cancel")
def confirm_cancel(booking_id: int):
    """Cancelling asks first: the slot goes to others and the waitlist."""
    the_booking = service.get_booking(get_session(), current_user(), booking_id)
    return render_template("booking/cancel.html", b=the_booking)


@blp.url_value_preprocessor
def _allow_document_uploads(endpoint, _values):
    # A document runs to several MB (booking.documents.LIMIT_BYTES); every other form keeps the
    # edge's 1 MiB. Set here: URL value preprocessors run before the before_request functions.
    if endpoint == "bookings.upload_document" and request.method == "POST":
        request.max_content_length = documents.REQUEST_LIMIT_BYTES


@blp.post("/bookings/<int:booking_id>/documents")
def upload_document(booking_id: int):
    """The enterprise uploads a document it committed to deliver (容缺受理)."""
    db, actor = get_session(), current_user()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        errors = {"file": [_("Choose a PDF, PNG or JPEG file.")]}
    else:
        document, errors, _conflict = commit_form(
            lambda: service.upload_document(db, actor, booking_id, upload.filename, upload.read()), "file")
        if document:
            flash(_("%(name)s is uploaded. The lab confirms when it has everything.", name=document.filename), "info")
            return redirect(url_for("bookings.booking", booking_id=booking_id))
    the_booking = service.get_booking(db, actor, booking_id)
    errors = {k: [_("The file is not a PDF, PNG or JPEG document.") if "PDF, PNG or JPEG" in m else m for m in v]
              for k, v in errors.items()}
    return render_template("booking/booking.html", b=the_booking, timeline=service.booking_timeline(db, actor, booking_id),
                           awaiting=service.awaiting_documents(the_booking), limit_mb=documents.LIMIT_BYTES // 1024 // 1024,
                           series=[], errors=errors, EVENT=EVENT), 422


@blp.get("/bookings/<int:booking_id>/documents/<int:document_id>")
def document(booking_id: int, document_id: int):
    """A document, to its enterprise and the lab's staff only (anyone else: not found)."""
    return send_document(service.get_document(get_session(), current_user(), booking_id, document_id))


@blp.post("/bookings/<int:booking_id>/documents/received")
def documents_received(booking_id: int):
    """The lab manager confirms the missing documents arrived: the deadline no longer holds."""
    commit_button(lambda: service.confirm_documents(get_session(), current_user(), booking_id,
                                                    request.form.get("note", "")[:2000]),
                  lambda _booking: _("Booking #%(id)s: documents received.", id=booking_id))
    return redirect(url_for("bookings.booking", booking_id=booking_id))


def by_series(bookings) -> list[list]:
    """Bookings as rows: a weekly series is one row of its weeks, a single booking a row of one;
    in the order given (a series where its first booking falls)."""
    rows, seen = [], {}
    for booking in bookings:
        if booking.series_id is None:
            rows.append([booking])
        elif booking.series_id in seen:
            seen[booking.series_id].append(booking)
        else:
            seen[booking.series_id] = [booking]
            rows.append(seen[booking.series_id])
    for row in rows:
        row.sort(key=lambda b: b.starts_at)
    return rows


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


# --- lab managers: approvals, a lab's calendar, managing a lab ---------------------------------------

@blp.get("/approvals")
def approvals():
    queue = service.approval_queue(get_session(), current_user())
    now = utcnow()
    return render_template("booking/approvals.html", rows=by_series(queue),
                           overdue={booking.id for booking in queue if service.is_overdue(booking, now)})


@blp.get("/labs/<int:lab_id>/calendar")
def lab_calendar(lab_id: int):
    db = get_session()
    lab = lab_catalog.get_lab(db, lab_id)
    tz = ZoneInfo(lab.timezone)
    monday = week_of(request.args.get("week"), lab.timezone)
    start = local_moment(monday, dt.time(), lab.timezone)
    bookings = service.lab_bookings_between(db, current_user(), lab_id, start, start + dt.timedelta(days=7))
    days = [monday + dt.timedelta(days=offset) for offset in range(7)]
    by_day = [(day, [booking for booking in bookings if booking.starts_at.astimezone(tz).date() == day])
              for day in days]
    return render_template("booking/lab_calendar.html", lab=lab, days=by_day, monday=monday, timedelta=dt.timedelta)


def _managed_lab(lab_id: int):
    db = get_session()
    actor, lab = lab_catalog.managed_lab(db, current_user(), lab_id)
    return db, actor, lab


def _manage_page(lab, form_name: str | None = None, errors: dict | None = None, status: int = 200,
                 hit: list | None = None):
    """The manage page; after a refused form, its messages and what was typed into it; `hit`: the
    bookings the form's closure or hours would fall on, to cancel or keep before it is saved."""
    errors = errors or {}
    forms = {form_name: request.form} if form_name else {}
    hours = {span.weekday: span for span in lab.hours}
    # Split hours (08:00-12:00 and 13:00-17:00 on one day) are set through the API; the form's one
    # span a day would merge them, so it leaves them alone.
    split_hours = len(hours) < len(lab.hours)
    settings = forms.get("settings") or {
        **{k: getattr(lab, k) for k in SETTINGS},
        **{f"opens_{weekday}": span.opens.strftime("%H:%M") for weekday, span in hours.items()},
        **{f"closes_{weekday}": span.closes.strftime("%H:%M") for weekday, span in hours.items()}}
    now = utcnow()
    db, actor = get_session(), current_user()
    usage = stats.recent_usage(db, actor, lab.id, USAGE_MONTHS, now)
    working_here = ({str(user.id) for user in lab.technicians} if "technicians" not in forms
                    else set(request.form.getlist("technician_ids")))
    # Administrators assign the managers; a lab manager sees who they are. A deactivated account
    # is offered only while it is still assigned, so that it can be taken off.
    lab_managers = [user for user in list_users(db, actor) if user.role == "lab_manager"
                    and (user.active or user in lab.managers)] if actor.role == "admin" else []
    managing = ({str(user.id) for user in lab.managers} if "managers" not in forms
                else set(request.form.getlist("manager_ids")))
    return render_template("booking/manage_lab.html", usage=usage, lab=lab, settings=settings, forms=forms,
                           technicians=lab_catalog.list_technicians(db, actor), working_here=working_here,
                           lab_managers=lab_managers, managing=managing,
                           errors={f"{form_name}.{k}": v for k, v in errors.items()},
                           by_form={form_name: errors} if errors else {}, split_hours=split_hours,
                           hit=hit or [], hit_form=form_name if hit else None,
                           closures=[closure for closure in lab.closures if closure.ends_at > now],
                           today=today(lab.timezone), timedelta=dt.timedelta), status


@blp.get("/labs/<int:lab_id>/manage")
def manage_lab(lab_id: int):
    _db, _actor, lab = _managed_lab(lab_id)
    return _manage_page(lab)


def _saved(lab, message: str):
    flash(message, "info")
    return redirect(url_for("bookings.manage_lab", lab_id=lab.id))


def _refused(lab, form_name: str, errors: dict):
    """The page again, with the messages and the input of the form that was refused (422)."""
    return _manage_page(lab, form_name, errors, 422)


@blp.post("/labs/<int:lab_id>/manage/settings")
def save_settings(lab_id: int):
    db, actor, lab = _managed_lab(lab_id)
    form = request.form
    data = {k: form.get(k, "").strip() for k in SETTINGS}
    spans = _typed_hours(form)
    if not any(data.values()) and not spans:
        # Every field blank (no browser sends this: its selects always have a value). Saved, it would
        # only untick "public benefit" and close the lab on every day.
        return _refused(lab, "settings", {"_form": [_("nothing to change: the form was empty")]})
    data["public_benefit"] = "public_benefit" in form
    if "set_hours" in form:
        data["hours"] = spans
    fields, errors = read_form(LabPatch(), data)
    errors = _naming_weekdays(errors, data.get("hours", []))
    if data.get("hours") == []:
        fields["hours"] = []  # read_form() drops an empty list as absent; here it means closed every day
    if "max_weekly_hours_per_enterprise" in form and not data["max_weekly_hours_per_enterprise"]:
        fields["max_weekly_hours_per_enterprise"] = None  # emptied: no limit (read_form() reads it as absent)
    if not errors and "hours" in fields:
        hit = service.bookings_hit_by_hours(db, actor, lab_id, [Hours(**span) for span in fields["hours"]])
        if hit and not _hit_decided():
            return _manage_page(lab, "settings", status=409, hit=hit)
    else:
        hit = []
    if not errors:
        def change():
            changed = lab_catalog.update_lab(db, actor, lab_id, fields)
            _cancel_hit(hit)
            return changed
        _lab, errors, _conflict = commit_form(change, "name")
        if not errors:
            return _saved(lab, _("The settings of %(code)s are saved.", code=lab.code))
    return _manage_page(lab, "settings", errors, 422, hit=hit if "cancel_reason" in errors else None)


def _typed_hours(form) -> list[dict]:
    """The settings form's opening hours: a span for each weekday with a time typed (a weekday with
    neither is closed; Saturday, Sunday: no weekend service)."""
    return [{"weekday": weekday, "opens": form.get(f"opens_{weekday}", ""), "closes": form.get(f"closes_{weekday}", "")}
            for weekday in range(7) if form.get(f"opens_{weekday}") or form.get(f"closes_{weekday}")]


def _naming_weekdays(errors: dict, spans: list[dict]) -> dict:
    """The schema names an opening time by its place in the list of spans sent ("hours.0.closes");
    the manager knows it by its weekday and which of the day's two times it is."""
    times = {"opens": _("Opens"), "closes": _("Closes")}
    named = {}
    for field, messages in errors.items():
        parts = field.split(".")
        if len(parts) == 3 and parts[0] == "hours" and parts[1].isdigit() and parts[2] in times:
            span = spans[int(parts[1])]
            if not span[parts[2]]:
                # A blank time is sent as "" (the partial schema would not miss an absent one): it is missing.
                messages = [_("This field is required.")]
            messages = [_("%(weekday)s, %(time)s: %(message)s", weekday=weekday_name(span["weekday"], "wide"),
                          time=times[parts[2]], message=m) for m in messages]
        named[field] = messages
    return named


def _hit_decided() -> bool:
    """The manager chose, for the bookings a closure or new hours fall on: cancel them (with the
    reason each enterprise is told) or keep them."""
    return "keep_hit" in request.form or "cancel_hit" in request.form


def _cancel_hit(hit: list) -> None:
    if hit and "cancel_hit" in request.form:
        service.cancel_hit(get_session(), current_user(), hit, request.form.get("cancel_reason", "")[:2000])


@blp.post("/labs/<int:lab_id>/manage/technicians")
def save_technicians(lab_id: int):
    """The technicians who work in the lab: they see its bookings, check enterprises in and out."""
    db, actor, lab = _managed_lab(lab_id)
    chosen = request.form.getlist("technician_ids")
    fields, errors = read_form(LabPatch(only=("technician_ids",)), {"technician_ids": chosen})
    if not errors:
        ids = fields.get("technician_ids", [])  # none ticked: read_form() reads it as absent
        _lab, errors, _conflict = commit_form(
            lambda: lab_catalog.update_lab(db, actor, lab_id, {"technician_ids": ids}), "technician_ids")
        if not errors:
            return _saved(lab, _("The technicians of %(code)s are saved.", code=lab.code))
    return _refused(lab, "technicians", errors)


@blp.post("/labs/<int:lab_id>/manage/managers")
def save_managers(lab_id: int):
    """The lab managers who manage the lab (none ticked: only the administrators). Administrators
    assign them; update_lab refuses a lab manager (403)."""
    db, actor, lab = _managed_lab(lab_id)
    fields, errors = read_form(LabPatch(only=("manager_ids",)), {"manager_ids": request.form.getlist("manager_ids")})
    if not errors:
        ids = fields.get("manager_ids", [])  # none ticked: read_form() reads it as absent
        _lab, errors, _conflict = commit_form(
            lambda: lab_catalog.update_lab(db, actor, lab_id, {"manager_ids": ids}), "manager_ids")
        if not errors:
            return _saved(lab, _("The managers of %(code)s are saved.", code=lab.code))
    return _refused(lab, "managers", errors)


@blp.post("/labs/<int:lab_id>/manage/instruments")
def add_instrument(lab_id: int):
    db, actor, lab = _managed_lab(lab_id)
    fields, errors = read_form(InstrumentIn(), {k: request.form.get(k, "").strip() for k in
                                                ("code", "name", "certificate_no", "calibration_valid_until")})
    if not errors:
        instrument, errors, _conflict = commit_form(
            lambda: lab_catalog.add_instrument(db, actor, lab_id, fields), "code")
        if instrument:
            return _saved(lab, _("Instrument %(code)s added.", code=instrument.code))
    return _refused(lab, "instrument", errors)


@blp.post("/labs/<int:lab_id>/manage/instruments/<int:instrument_id>")
def recalibrate(lab_id: int, instrument_id: int):
    """A new calibration certificate: its number and the date it is valid until."""
    db = get_session()
    actor, lab, _instrument = lab_catalog.managed_instrument(db, current_user(), lab_id, instrument_id)
    fields, errors = read_form(InstrumentPatch(), {k: request.form.get(k, "").strip()
                                                   for k in ("certificate_no", "calibration_valid_until")})
    if not errors:
        instrument, errors, _conflict = commit_form(
            lambda: lab_catalog.update_instrument(db, actor, instrument_id, fields), "calibration_valid_until")
        if instrument:
            return _saved(lab, _("Instrument %(code)s: calibration valid until %(date)s.", code=instrument.code,
                                 date=instrument.calibration_valid_until.isoformat()))
    return _refused(lab, f"instrument_{instrument_id}", errors)


@blp.post("/labs/<int:lab_id>/manage/instruments/<int:instrument_id>/retire")
def retire_instrument(lab_id: int, instrument_id: int):
    """Out of service for good: it leaves the lab's list and is booked no more; the bookings that
    name it keep it (labs.catalog.service.retire_instrument). Another lab's instrument is not found (404)."""
    db, actor, _lab = _managed_lab(lab_id)
    commit_button(lambda: lab_catalog.retire_instrument(db, actor, lab_id, instrument_id),
                  lambda instrument: _("Instrument %(code)s is retired: it is no longer offered or booked.",
                                       code=instrument.code))
    return redirect(url_for("bookings.manage_lab", lab_id=lab_id))


@blp.post("/labs/<int:lab_id>/manage/closures/<int:closure_id>/remove")
def remove_closure(lab_id: int, closure_id: int):
    """The lab opens again in its hours where the closure was. A closure already removed, or
    another lab's, is not found (404)."""
    db, actor, lab = _managed_lab(lab_id)
    # Told in the confirmation, read before the closure is gone.
    closure = next((c for c in lab.closures if c.id == closure_id), None)
    span = (local(closure.starts_at, lab.timezone), local(closure.ends_at, lab.timezone)) if closure else ("", "")
    commit_button(lambda: lab_catalog.remove_closure(db, actor, lab_id, closure_id),
                  lambda _none: _("The closure from %(start)s to %(end)s is removed: %(code)s is open in its hours again.",
                                  start=span[0], end=span[1], code=lab.code))
    return redirect(url_for("bookings.manage_lab", lab_id=lab_id))


@blp.post("/labs/<int:lab_id>/manage/closures")
def add_closure(lab_id: int):
    """A closure from one local date and time to another, in the lab's time zone."""
    db, actor, lab = _managed_lab(lab_id)
    form = request.form
    errors: dict[str, list[str]] = {}
    moments = {}
    for name in ("starts_at", "ends_at"):
        try:
            moments[name] = local_moment(dt.date.fromisoformat(form.get(f"{name}_date", "")),
                                         dt.time.fromisoformat(form.get(f"{name}_time", "") or "00:00"),
                                         lab.timezone).isoformat()
        except ValueError:
            errors[name] = [_("Enter a date as YYYY-MM-DD and a time as HH:MM.")]
    fields, load_errors = read_form(ClosureIn(), {**moments, "reason": form.get("reason", "").strip()})
    errors = {**load_errors, **errors}
    hit = [] if errors else service.bookings_hit_by_closure(db, actor, lab_id, fields["starts_at"], fields["ends_at"])
    if hit and not _hit_decided():
        return _manage_page(lab, "closure", status=409, hit=hit)
    if not errors:
        def close():
            closure = lab_catalog.add_closure(db, actor, lab_id, **fields)
            _cancel_hit(hit)
            return closure
        closure, errors, _conflict = commit_form(close, "starts_at")
        if closure:
            return _saved(lab, _("%(code)s is closed from %(start)s to %(end)s.", code=lab.code,
                                 start=moments["starts_at"][:16].replace("T", " "),
                                 end=moments["ends_at"][:16].replace("T", " ")))
    return _manage_page(lab, "closure", errors, 422, hit=hit if "cancel_reason" in errors else None)
