"""The shell's own pages: signing in and out, changing one's password, and the signed-in user's
notifications."""
from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from labs.accounts import service as accounts
from labs.accounts.auth import SESSION_KEY, client_address, current_session_secret, current_user
from labs.db import get_session
from labs.notify import mark_read
from labs.errors import Invalid, TooManyAttempts, Unauthorized
from labs.i18n import LANGUAGES
from labs.web.common import DomainError, domain_error_page, home_url

blp = Blueprint("web", __name__)
blp.register_error_handler(DomainError, domain_error_page)


def safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else the home page. Browsers drop tabs and newlines
    from a URL and read a backslash as a slash, so "/\t/evil.com" or "/\\evil.com" would take
    them to another site: any control character or backslash refuses the target, as does a
    scheme or a host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return home_url()
    if any(unicodedata.category(char) == "Cc" for char in target):
        return home_url()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home_url()
    return target


def _start_session(user) -> None:
    lang = session.get("lang")
    session.clear()  # a fresh session on login, so a planted session id gains nothing
    # The secret is what signs the browser in (checked against its row on every request); user_id
    # only tells the edge that this browser is signed in (its answers are not to be cached).
    session.update({SESSION_KEY: accounts.open_session(get_session(), user), "user_id": user.id,
                    **({"lang": lang} if lang else {})})


@blp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""), email="")
    email, db = request.form.get("email", ""), get_session()
    try:
        user = accounts.sign_in(db, email, request.form.get("password", ""), client_address(), "page")
    except Unauthorized:
        db.commit()  # the failure is counted and audited
        return render_template("login.html", next=request.form.get("next", ""), email=email,
                               error=_("Wrong e-mail or password.")), 401
    except TooManyAttempts as exc:
        return render_template("login.html", next=request.form.get("next", ""), email=email,
                               error=_("Too many failed sign-ins. Try again in %(seconds)d seconds.",
                                       seconds=exc.retry_after)), 429, {"Retry-After": str(exc.retry_after)}
    _start_session(user)
    db.commit()
    if user.must_change_password:
        flash(_("Your password was reset. Choose a new password to go on."), "info")
        return redirect(url_for("web.change_password", next=safe_next(request.form.get("next"))))
    flash(_("Welcome, %(name)s.", name=user.name), "info")
    return redirect(safe_next(request.form.get("next")))


@blp.post("/language")
def set_language():
    """A signed-in user's language links: the choice goes on their account (a visitor's ?lang= link
    keeps it in the session only, a GET writes nothing)."""
    chosen, user = request.form.get("lang"), current_user()
    if chosen in LANGUAGES:
        session["lang"] = chosen
        if user is not None:
            accounts.choose_language(get_session(), user, chosen)
            get_session().commit()
    return redirect(safe_next(request.form.get("next")))


@blp.post("/logout")
def logout():
    secret = current_session_secret()
    if secret:
        db = get_session()
        accounts.end_session(db, secret)  # also wherever this cookie was copied
        db.commit()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are logged out."), "info")
    return redirect(home_url())


@blp.route("/account/password", methods=["GET", "POST"])
def change_password():
    user = accounts.signed_in(current_user())
    next_url = request.values.get("next", "")
    if request.method == "GET":
        return render_template("password.html", errors={}, next=next_url)
    form, db = request.form, get_session()
    errors = {}
    if form.get("new_password", "") != form.get("confirm_password", ""):
        errors["confirm_password"] = [_("The two new passwords differ.")]
    else:
        try:
            accounts.change_password(db, user, form.get("current_password", ""), form.get("new_password", ""),
                                     client_address(), keep_session=current_session_secret())
            db.commit()
            flash(_("Your password is changed. Your other sessions and tokens have ended."), "info")
            return redirect(safe_next(next_url))
        except Invalid as exc:
            db.commit()  # a wrong current password is counted and audited
            errors = {field: [_password_message(message) for message in messages]
                      for field, messages in exc.extra["errors"].items()}
        except TooManyAttempts as exc:
            errors["current_password"] = [_("Too many failed sign-ins. Try again in %(seconds)d seconds.",
                                            seconds=exc.retry_after)]
            return render_template("password.html", errors=errors, next=next_url), 429, \
                {"Retry-After": str(exc.retry_after)}
    return render_template("password.html", errors=errors, next=next_url), 422


def _password_message(message: str) -> str:
    """The service's message about a password, in the reader's language."""
    return {"wrong password": _("The current password is wrong."),
            "choose a different password": _("Choose a password other than the current one."),
            f"at least {accounts.MIN_PASSWORD} characters": _("At least %(count)d characters.",
                                                              count=accounts.MIN_PASSWORD),
            }.get(message, message)


@blp.get("/notifications")
def notifications():
    return render_template("notifications.html", notifications=accounts.notifications(get_session(), current_user()))


@blp.post("/notifications/read")
def read_notifications():
    """The signed-in user has read their notices: the header's count goes to nought."""
    db = get_session()
    count = mark_read(db, accounts.signed_in(current_user()))
    db.commit()
    flash(_("%(n)s notices marked as read.", n=count), "info")
    return redirect(url_for("web.notifications"))
