"""The shell's own pages: signing in and out, and the signed-in user's notifications."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session
from flask_babel import gettext as _

from labs.accounts import service as accounts
from labs.accounts.auth import current_user
from labs.db import get_session
from labs.errors import Unauthorized
from labs.web.common import DomainError, domain_error_page, home_url

blp = Blueprint("web", __name__)
blp.register_error_handler(DomainError, domain_error_page)


def _safe_next(target: str | None) -> str:
    # Only paths on this site: an absolute or scheme-relative URL would make an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return home_url()


@blp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""), email="")
    email = request.form.get("email", "")
    try:
        user = accounts.authenticate(get_session(), email, request.form.get("password", ""))
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
    return redirect(home_url())


@blp.get("/notifications")
def notifications():
    return render_template("notifications.html", notifications=accounts.notifications(get_session(), current_user()))
