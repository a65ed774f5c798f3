"""What every page shares: errors as pages, the signed-in user, languages, local times, form input."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import marshmallow as ma
from babel.dates import get_day_names
from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale, gettext as _, lazy_gettext
from flask_wtf.csrf import CSRFError

from labs.accounts.auth import current_user
from labs.api import NO_CONTROL_CHARACTERS, has_body
from labs.db import get_session
from labs.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Unauthorized
from labs.i18n import LANGUAGES
from labs.schema_messages import translate
from labs.notify import unread_count

ROLE = {
    "admin": lazy_gettext("administrator"), "lab_manager": lazy_gettext("lab manager"),
    "technician": lazy_gettext("technician"), "inspector": lazy_gettext("inspector"),
    "enterprise": lazy_gettext("enterprise"),
}
_REQUIRED = "Missing data for required field."
WEEK_YEARS = 10  # how far from today ?week= may go


def domain_error_page(error: DomainError):
    """A service refused: not signed in goes to the login page, the rest is an error page."""
    if isinstance(error, Unauthorized):
        flash(_("Please log in."), "info")
        return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
    title = {Forbidden: _("Not allowed"), NotFound: _("Not found")}.get(type(error), _("Request refused"))
    return render_template("error.html", title=title, detail=error.detail), error.status


def _csrf_error(error: CSRFError):
    return render_template("error.html", title=_("The form has expired"),
                           detail=_("Reload the page and send the form again.")), 400


def _refuse_nul():
    """No browser sends a NUL byte, and PostgreSQL refuses one in text (a 500 at the first query):
    any form or query value holding one is refused before it reaches a service."""
    if request.path.startswith("/api"):
        return None
    # Most requests carry neither a query nor a body: nothing to parse then (the busiest pages).
    if not request.query_string and not has_body():
        return None
    if any("\x00" in text for pair in (*request.args.items(multi=True), *request.form.items(multi=True))
           for text in pair):
        return render_template("error.html", title=_("Request refused"),
                               detail=_("A NUL character is not allowed in any field.")), 400
    return None


# The pages a user whose password was reset may open before choosing a new one.
PASSWORD_CHANGE_PAGES = {"web.change_password", "web.logout", "web.login", "static"}


def _require_new_password():
    """After an administrator's reset, every page sends its user to choose a new password first."""
    if request.path.startswith("/api") or request.endpoint in PASSWORD_CHANGE_PAGES:
        return None
    user = current_user()
    if user is not None and getattr(user, "must_change_password", False):
        return redirect(url_for("web.change_password", next=request.full_path.rstrip("?")))
    return None


def unread_notices() -> int:
    """How many notifications the signed-in user has not seen (the header shows it); read once a request."""
    user = current_user()
    if user is None:
        return 0
    if "unread_notices" not in g:
        g.unread_notices = unread_count(get_session(), user)
    return g.unread_notices


def home_url() -> str:
    """The front page: the lab catalog."""
    return url_for("bookings.catalog")


def local_moment(day: dt.date, time: dt.time, tz: str) -> dt.datetime:
    """A date and wall-clock time typed into a form, in the lab's time zone, as an aware datetime."""
    return dt.datetime.combine(day, time, ZoneInfo(tz))


def local(value: dt.datetime | str, tz: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC time (or its ISO text, as in a Conflict's slots) as wall-clock time in the lab's zone."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def today(tz: str | None = None) -> dt.date:
    return dt.datetime.now(ZoneInfo(tz or current_app.config["TIMEZONE"])).date()


def week_of(arg: str | None, tz: str | None = None) -> dt.date:
    """The Monday of the week holding ?week=YYYY-MM-DD, this week when absent or not a date."""
    day = today(tz)
    if arg:
        try:
            chosen = dt.date.fromisoformat(arg)
        except ValueError:
            chosen = None
        # Far-off years are no use here, and the week's arithmetic would overflow at year 1 or 9999.
        if chosen is not None and abs(chosen.year - day.year) <= WEEK_YEARS:
            day = chosen
        else:
            flash(_("%(value)s is not a date (YYYY-MM-DD); showing this week.", value=arg), "error")
    return day - dt.timedelta(days=day.weekday())


def commit_form(call, conflict_field: str) -> tuple[object | None, dict[str, list[str]], Conflict | None]:
    """Run the service call a form asks for and commit. A broken rule or a conflict is rolled back
    and comes back as messages per field (and the Conflict itself), for the form to be shown again."""
    db = get_session()
    try:
        result = call()
        db.commit()
        return result, {}, None
    except Invalid as exc:
        db.rollback()
        return None, exc.extra["errors"], None
    except Conflict as exc:
        db.rollback()
        return None, {conflict_field: [exc.detail]}, exc


def commit_button(call, done) -> None:
    """Run the service call a button asks for and commit, then flash `done(result)`; a conflict is
    rolled back and flashed as the reason it was refused."""
    db = get_session()
    try:
        result = call()
        db.commit()
        flash(done(result), "info")
    except Conflict as exc:
        db.rollback()
        flash(exc.detail, "error")


def read_form(schema: ma.Schema, data: dict) -> tuple[dict, dict[str, list[str]]]:
    """Validate form input with the API's schema, so pages and API accept the same things. Empty
    fields count as absent (defaults apply; required ones are reported)."""
    try:
        return schema.load({k: v for k, v in data.items() if v not in ("", None, [])}), {}
    except ma.ValidationError as exc:
        return {}, _flatten(exc.messages)


def _flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, sub in messages.items():
            for field, texts in _flatten(sub, f"{prefix}.{key}" if prefix else str(key)).items():
                out.setdefault(field, []).extend(texts)
    else:
        texts = messages if isinstance(messages, list) else [messages]
        out[prefix or "_form"] = [_translated(str(t)) for t in texts]
    return out


def _translated(text: str) -> str:
    """The schemas' messages a form shows in the reader's language."""
    if text == _REQUIRED:
        return _("This field is required.")
    if text == NO_CONTROL_CHARACTERS:
        return _("Line breaks, tabs and other control characters are not allowed here.")
    return translate(text)


def weekday_name(weekday: int, width: str = "abbreviated") -> str:
    """Monday is 0, as in the opening hours."""
    return get_day_names(width, locale=get_locale())[weekday]


def lang_url(code: str) -> str:
    if request.endpoint and request.url_rule and request.method == "GET":
        # The query is encoded apart from url_for's keywords: a query key named like a URL argument
        # (?lab_id= on /labs/1) or like url_for's own (endpoint, _scheme) would clash with them.
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"] + [("lang", code)]
        return f"{url_for(request.endpoint, **(request.view_args or {}))}?{urlencode(args)}"
    return f"{home_url()}?{urlencode([('lang', code)])}"


def init_app(app) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.before_request(_refuse_nul)
    app.before_request(_require_new_password)
    app.jinja_env.filters["local"] = local
    app.jinja_env.globals.update(ROLE=ROLE, lang_url=lang_url, weekday_name=weekday_name,
                                 home_url=home_url, unread_notices=unread_notices)

    @app.context_processor
    def _page_context():
        if request.path.startswith("/api"):
            return {}
        locale = str(get_locale())
        return {"user": current_user(), "locale": locale,
                "html_lang": {"zh_Hans_CN": "zh-Hans-CN", "zh_Hant_TW": "zh-Hant-TW"}.get(locale, "en"),
                "format_date": format_date, "LANGUAGES": LANGUAGES}
