"""The lab manager's page for one lab: its rules and opening hours, instruments with their
calibration, and closures. Admins manage every lab; a lab manager the labs assigned to them."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from booking.stats import monthly_usage
from labs.accounts.auth import current_user
from labs.catalog import service
from labs.catalog.api import ClosureIn, InstrumentIn, InstrumentPatch, LabPatch
from labs.db import get_session, utcnow
from labs.errors import NotFound
from labs.web.common import DomainError, domain_error_page, load, save, today

blp = Blueprint("manage", __name__)
blp.register_error_handler(DomainError, domain_error_page)
USAGE_MONTHS = 6  # this month and the five before it
SETTINGS = ("name", "location", "bays", "fee_per_hour", "fee_per_batch", "approval_mode", "approval_deadline_days",
            "document_deadline_days", "min_duration_minutes", "max_duration_minutes", "max_advance_days")


def _managed_lab(lab_id: int):
    db = get_session()
    actor, lab = service.managed_lab(db, current_user(), lab_id)
    return db, actor, lab


def _page(lab, form_name: str | None = None, errors: dict | None = None, status: int = 200):
    """The page; after a refused form, its messages and what was typed into it."""
    errors = errors or {}
    forms = {form_name: request.form} if form_name else {}
    hours = {h.weekday: h for h in lab.hours}
    # Split hours (08:00-12:00 and 13:00-17:00 on one day) are set through the API; the form's one
    # span a day would merge them, so it leaves them alone.
    split_hours = len(hours) < len(lab.hours)
    settings = forms.get("settings") or {
        **{k: getattr(lab, k) for k in SETTINGS}, "public_benefit": lab.public_benefit,
        **{f"opens_{d}": hours[d].opens.strftime("%H:%M") for d in hours},
        **{f"closes_{d}": hours[d].closes.strftime("%H:%M") for d in hours}}
    now = utcnow()
    usage, first = [], today(lab.timezone).replace(day=1)
    for _i in range(USAGE_MONTHS):
        usage.append(monthly_usage(get_session(), current_user(), lab.id, first.year, first.month))
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return render_template("manage_lab.html", usage=usage, lab=lab, settings=settings, forms=forms,
                           errors={f"{form_name}.{k}": v for k, v in errors.items()},
                           by_form={form_name: errors} if errors else {}, split_hours=split_hours,
                           closures=[c for c in lab.closures if c.ends_at > now], today=today(lab.timezone),
                           timedelta=dt.timedelta), status


@blp.get("/labs/<int:lab_id>/manage")
def manage_lab(lab_id: int):
    _db, _actor, lab = _managed_lab(lab_id)
    return _page(lab)


def _done(lab, message: str):
    flash(message, "info")
    return redirect(url_for("manage.manage_lab", lab_id=lab.id))


def _failed(lab, form_name: str, errors: dict):
    """The page again, with the messages and the input of the form that was refused (422)."""
    return _page(lab, form_name, errors, 422)


@blp.post("/labs/<int:lab_id>/manage/settings")
def save_settings(lab_id: int):
    db, actor, lab = _managed_lab(lab_id)
    form = request.form
    data = {k: form.get(k, "").strip() for k in SETTINGS}
    data["public_benefit"] = "public_benefit" in form
    if "set_hours" in form:
        # One span a weekday; a weekday with neither time is closed (Saturday, Sunday: no weekend service).
        data["hours"] = [{"weekday": d, "opens": form.get(f"opens_{d}", ""), "closes": form.get(f"closes_{d}", "")}
                         for d in range(7) if form.get(f"opens_{d}") or form.get(f"closes_{d}")]
    fields, errors = load(LabPatch(), data)
    if data.get("hours") == []:
        fields["hours"] = []  # load() drops an empty list as absent; here it means closed every day
    if not errors:
        _lab, errors, _conflict = save(lambda: service.update_lab(db, actor, lab_id, fields), "name")
        if not errors:
            return _done(lab, _("The settings of %(code)s are saved.", code=lab.code))
    return _failed(lab, "settings", errors)


@blp.post("/labs/<int:lab_id>/manage/instruments")
def add_instrument(lab_id: int):
    db, actor, lab = _managed_lab(lab_id)
    fields, errors = load(InstrumentIn(), {k: request.form.get(k, "").strip() for k in
                                           ("code", "name", "certificate_no", "calibration_valid_until")})
    if not errors:
        instrument, errors, _conflict = save(lambda: service.add_instrument(db, actor, lab_id, fields), "code")
        if instrument:
            return _done(lab, _("Instrument %(code)s added.", code=instrument.code))
    return _failed(lab, "instrument", errors)


@blp.post("/labs/<int:lab_id>/manage/instruments/<int:instrument_id>")
def recalibrate(lab_id: int, instrument_id: int):
    """A new calibration certificate: its number and the date it is valid until."""
    db, actor, lab = _managed_lab(lab_id)
    if instrument_id not in {i.id for i in lab.instruments}:
        raise NotFound(_("Lab %(code)s has no instrument %(id)s.", code=lab.code, id=instrument_id))
    fields, errors = load(InstrumentPatch(), {k: request.form.get(k, "").strip()
                                              for k in ("certificate_no", "calibration_valid_until")})
    if not errors:
        instrument, errors, _conflict = save(
            lambda: service.update_instrument(db, actor, instrument_id, fields), "calibration_valid_until")
        if instrument:
            return _done(lab, _("Instrument %(code)s: calibration valid until %(date)s.", code=instrument.code,
                                date=instrument.calibration_valid_until.isoformat()))
    return _failed(lab, f"instrument_{instrument_id}", errors)


@blp.post("/labs/<int:lab_id>/manage/closures")
def add_closure(lab_id: int):
    """A closure from one local date and time to another, in the lab's time zone."""
    db, actor, lab = _managed_lab(lab_id)
    form, tz = request.form, ZoneInfo(lab.timezone)
    errors: dict[str, list[str]] = {}
    moments = {}
    for name in ("starts_at", "ends_at"):
        try:
            day = dt.date.fromisoformat(form.get(f"{name}_date", ""))
            time = dt.time.fromisoformat(form.get(f"{name}_time", "") or "00:00")
            moments[name] = dt.datetime.combine(day, time, tz).isoformat()
        except ValueError:
            errors[name] = [_("Enter a date as YYYY-MM-DD and a time as HH:MM.")]
    fields, load_errors = load(ClosureIn(), {**moments, "reason": form.get("reason", "").strip()})
    errors = {**load_errors, **errors}
    if not errors:
        closure, errors, _conflict = save(lambda: service.add_closure(db, actor, lab_id, **fields), "starts_at")
        if closure:
            return _done(lab, _("%(code)s is closed from %(start)s to %(end)s.", code=lab.code,
                                start=moments["starts_at"][:16].replace("T", " "),
                                end=moments["ends_at"][:16].replace("T", " ")))
    return _failed(lab, "closure", errors)
