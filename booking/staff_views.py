"""The staff's daily pages: the day's and the week's bookings of the labs a lab manager or technician
works in, or of one of them (?lab=: the lab's calendar), with check-in, complete and no-show (the
same transitions the API takes)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from booking import service, staff
from booking.views import STATUS
from labs.accounts.auth import current_user
from labs.db import get_session, utcnow
from labs.web.common import DomainError, commit_button, domain_error_page, local_moment, today, week_of

blp = Blueprint("staff", __name__, url_prefix="/staff", template_folder="templates")
blp.register_error_handler(DomainError, domain_error_page)


@blp.context_processor
def _staff_context():
    return {"STATUS": STATUS}


def _day_arg() -> dt.date:
    """?day=YYYY-MM-DD, today when absent or not a date near today."""
    arg, day = request.args.get("day"), today()
    if arg:
        try:
            chosen = dt.date.fromisoformat(arg)
        except ValueError:
            chosen = None
        if chosen is not None and abs((chosen - day).days) <= 366:
            return chosen
        flash(_("%(value)s is not a date (YYYY-MM-DD); showing today.", value=arg[:40]), "error")
    return day


def _lab_arg(labs) -> int | None:
    """?lab=ID narrows the pages to one of the caller's labs (its calendar); anything else: all of them."""
    chosen = request.args.get("lab", type=int)
    return chosen if chosen in {lab.id for lab in labs} else None


def _rows(first: dt.date, days: int, lab_id: int | None):
    # The bureau's day: its labs share its time zone (each booking is still shown in its lab's).
    tz = current_app.config["TIMEZONE"]
    start = local_moment(first, dt.time(), tz)
    now = utcnow()
    bookings = staff.staff_bookings(get_session(), current_user(), start, start + dt.timedelta(days=days), lab_id)
    return [(booking, staff.actions_now(booking, now)) for booking in bookings]


@blp.get("/day")
def day():
    labs = staff.staffed_labs(get_session(), current_user())
    shown, lab_id = _day_arg(), _lab_arg(labs)
    return render_template("booking/staff_day.html", day=shown, rows=_rows(shown, 1, lab_id), today=today(),
                           labs=labs, lab_id=lab_id, timedelta=dt.timedelta)


@blp.get("/week")
def week():
    labs = staff.staffed_labs(get_session(), current_user())
    monday, lab_id = week_of(request.args.get("week")), _lab_arg(labs)
    rows = _rows(monday, 7, lab_id)
    days = [monday + dt.timedelta(days=offset) for offset in range(7)]
    by_day = [(day, [(booking, actions) for booking, actions in rows
                     if booking.starts_at.astimezone(ZoneInfo(booking.lab.timezone)).date() == day]) for day in days]
    return render_template("booking/staff_week.html", monday=monday, days=by_day, labs=labs, lab_id=lab_id,
                           timedelta=dt.timedelta)


@blp.post("/bookings/<int:booking_id>/<any(check_in, complete, no_show):action>")
def act(booking_id: int, action: str):
    commit_button(lambda: service.transition(get_session(), current_user(), booking_id, action),
                  lambda booking: _("Booking #%(id)s is %(status)s.", id=booking.id, status=STATUS[booking.status]))
    back = request.form.get("back", "")
    # Back to the page the button was on; only a path of these pages, never another site.
    if not (back.startswith("/staff/") and "//" not in back and "\\" not in back):
        back = url_for("staff.day")
    return redirect(back)
