"""Administrator pages: labs and users, listed and created; users deactivated, reactivated and
given a one-time password; the year's holiday schedule. An existing lab's managers are assigned
on the lab's own manage page (booking.views.save_managers), which the lab list links to."""
from __future__ import annotations

import chinese_calendar
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from labs.accounts.auth import current_user
from labs.accounts.schemas import UserIn
from labs.accounts.service import (create_user, deactivate_user, list_users, reactivate_user, require_role,
                                   reset_password)
from labs.calendar.domain import to_text
from labs.calendar.service import import_schedule, list_years, remove_schedule
from labs.catalog.schemas import LabIn
from labs.catalog.service import LAB_FIELDS, create_lab, list_labs
from labs.db import get_session
from labs.web.common import DomainError, commit_button, commit_form, domain_error_page, read_form

blp = Blueprint("admin", __name__, url_prefix="/admin")
blp.register_error_handler(DomainError, domain_error_page)
USER_FIELDS = ("email", "password", "name", "role", "enterprise_code", "enterprise_name")


def _lab_page(form, errors=None, status=200):
    db, actor = get_session(), current_user()
    managers = [user for user in list_users(db, actor) if user.role == "lab_manager"]
    return render_template("admin/labs.html", labs=list_labs(db), managers=managers, form=form,
                           errors=errors or {}), status


@blp.route("/labs", methods=["GET", "POST"])
def labs():
    actor = require_role(current_user(), "admin")
    if request.method == "GET":
        return _lab_page({"timezone": current_app.config["TIMEZONE"], "bays": "1", "opens": "08:30",
                          "closes": "17:30", "weekdays": ["0", "1", "2", "3", "4"],
                          "approval_mode": "manager"})
    form = request.form
    data = {k: form.get(k, "").strip() for k in LAB_FIELDS}
    data["public_benefit"] = "public_benefit" in form
    # One set of opening hours for the ticked weekdays; finer hours are set through the API.
    data["hours"] = [{"weekday": weekday, "opens": form.get("opens", ""), "closes": form.get("closes", "")}
                     for weekday in form.getlist("weekdays")]
    data["manager_ids"] = form.getlist("manager_ids")
    fields, errors = read_form(LabIn(), data)
    if not errors:
        lab, errors, _conflict = commit_form(lambda: create_lab(get_session(), actor, fields), "code")
        if lab:
            flash(_("Lab %(code)s created.", code=lab.code), "info")
            return redirect(url_for("admin.labs"))
    return _lab_page(form, errors, 422)


@blp.route("/users", methods=["GET", "POST"])
def users():
    actor = require_role(current_user(), "admin")
    db = get_session()
    errors = {}
    if request.method == "POST":
        fields, errors = read_form(UserIn(), {k: request.form.get(k, "").strip() if k != "password"
                                              else request.form.get(k, "") for k in USER_FIELDS})
        if not errors:
            user, errors, _conflict = commit_form(lambda: create_user(db, actor, **fields), "email")
            if user:
                flash(_("User %(email)s created.", email=user.email), "info")
                return redirect(url_for("admin.users"))
    form = request.form if request.method == "POST" else {"role": "enterprise"}
    return render_template("admin/users.html", users=list_users(db, actor), form=form, errors=errors), \
        422 if errors else 200


@blp.post("/users/<int:user_id>/deactivate")
def deactivate(user_id):
    actor = require_role(current_user(), "admin")
    commit_button(lambda: deactivate_user(get_session(), actor, user_id),
                  lambda user: _("%(email)s is deactivated; their sessions and tokens have ended.", email=user.email))
    return redirect(url_for("admin.users"))


@blp.post("/users/<int:user_id>/reactivate")
def reactivate(user_id):
    actor = require_role(current_user(), "admin")
    commit_button(lambda: reactivate_user(get_session(), actor, user_id),
                  lambda user: _("%(email)s is active again.", email=user.email))
    return redirect(url_for("admin.users"))


@blp.post("/users/<int:user_id>/password-reset")
def password_reset(user_id):
    """The one-time password is shown on this answer only (never flashed: the session cookie is
    signed, not encrypted)."""
    actor = require_role(current_user(), "admin")
    db = get_session()
    user, one_time_password = reset_password(db, actor, user_id)
    db.commit()
    return render_template("admin/users.html", users=list_users(db, actor), form={"role": "enterprise"},
                           errors={}, reset=(user, one_time_password))


@blp.route("/holidays", methods=["GET", "POST"])
def holidays():
    """The year's holiday schedule, for a year chinese-calendar does not know yet (labs.calendar)."""
    actor = require_role(current_user(), "admin")
    db = get_session()
    errors, text = {}, ""
    if request.method == "POST":
        text = request.form.get("schedule", "")
        schedule, errors, _conflict = commit_form(lambda: import_schedule(db, actor, text), "schedule")
        if schedule:
            flash(_("The holiday schedule of %(year)s is stored; it decides that year's working days.",
                    year=schedule.year), "info")
            return redirect(url_for("admin.holidays"))
    return render_template("admin/holidays.html", years=list_years(db), text=text, errors=errors,
                           covered_until=max(chinese_calendar.constants.holidays).year, to_text=to_text), \
        422 if errors else 200


@blp.post("/holidays/<int:year>/remove")
def remove_holidays(year):
    actor = require_role(current_user(), "admin")
    commit_button(lambda: remove_schedule(get_session(), actor, year),
                  lambda _none: _("The holiday schedule of %(year)s is removed.", year=year))
    return redirect(url_for("admin.holidays"))
