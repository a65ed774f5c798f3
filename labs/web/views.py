"""Public pages (catalog, a lab's week), signing in and out, the user's notifications."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from booking.availability import availability, week_overview
from labs.accounts.auth import current_user
from labs.accounts.service import ROLES, authenticate, require_role
from labs.catalog.service import get_lab
from labs.db import get_session
from labs.errors import Unauthorized
from labs.notify import notifications_for
from labs.web.common import DomainError, domain_error_page, today, week_of

blp = Blueprint("web", __name__)
blp.register_error_handler(DomainError, domain_error_page)


@blp.get("/")
def catalog():
    monday = week_of(request.args.get("week"))
    return render_template("catalog.html", week=week_overview(get_session(), monday), monday=monday,
                           timedelta=dt.timedelta)


@blp.get("/labs/<int:lab_id>")
def lab(lab_id: int):
    db = get_session()
    the_lab = get_lab(db, lab_id)
    monday = week_of(request.args.get("week"), the_lab.timezone)
    week = availability(db, lab_id, monday, monday + dt.timedelta(days=6))
    return render_template("lab.html", lab=the_lab, week=week, monday=monday, today=today(the_lab.timezone),
                           timedelta=dt.timedelta)


def _safe_next(target: str | None) -> str:
    # Only paths on this site: an absolute or scheme-relative URL would make an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("web.catalog")


@blp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""), email="")
    email = request.form.get("email", "")
    try:
        user = authenticate(get_session(), email, request.form.get("password", ""))
    except Unauthorized:
        return render_template("login.html", next=request.form.get("next", ""), email=email,
                               error=_("Wrong e-mail or password.")), 401
    lang = session.get("lang")
    session.clear()  # a fresh session on login, so a planted session id gains nothing
    session.update(user_id=user.id, **({"lang": lang} if lang else {}))
    flash(_("Welcome, %(name)s.", name=user.name), "info")
    return redirect(_safe_next(request.form.get("next")))


@blp.post("/logout")
def logout():
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are logged out."), "info")
    return redirect(url_for("web.catalog"))


@blp.get("/notifications")
def notifications():
    user = require_role(current_user(), *ROLES)
    return render_template("notifications.html", notifications=notifications_for(get_session(), user))
