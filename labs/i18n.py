"""Languages: Simplified Chinese by default, Traditional Chinese and English selectable; messages
raised deep in a service are marked with N_ and translated only when they are shown (render)."""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, support
from babel.dates import format_skeleton, get_timezone_name
from babel.lists import format_list
from flask import current_app, has_app_context, has_request_context, request, session
from flask_babel import Babel, force_locale, get_locale, gettext

LANGUAGES = {"zh_Hans_CN": "简体中文", "zh_Hant_TW": "繁體中文", "en": "English"}
DEFAULT = "zh_Hans_CN"
DEFAULT_ZONE = "Asia/Shanghai"  # the service's zone outside an app (config TIMEZONE inside)
# BCP 47 tags of the languages, for <html lang>, hreflang and Content-Language.
TAGS = {"zh_Hans_CN": "zh-Hans", "zh_Hant_TW": "zh-Hant", "en": "en"}


class Message(str):
    """An English message id, to be translated where it is shown. It is a str, so code that
    compares, logs or serialises it sees the English text. `N_("... %(day)s") % {"day": day}` binds
    its params: the str is then the English sentence, and `render` still translates it (a message
    per field, or a notice, with params of its own)."""

    msgid: str
    params: dict

    def __new__(cls, msgid: str, params: dict | None = None):
        self = super().__new__(cls, render_in("en", msgid, params) if params else msgid)
        self.msgid, self.params = str(msgid), params or {}
        return self

    def __mod__(self, params: dict) -> Message:
        return Message(self.msgid, {**self.params, **params})

    def __reduce__(self):
        return Message, (self.msgid, self.params)


@dataclass(frozen=True)
class Span:
    """A param from start to end, shown as "Dec 3, 2026, 10:00–12:00 Beijing time"."""

    start: dt.datetime
    end: dt.datetime


def N_(text: str) -> Message:
    """Marks a message for extraction (pybabel extract -k N_) without translating it now: the
    reader's language is known only where the message is shown."""
    return Message(text)


def accepted_locale(header_values) -> str | None:
    """The best of our languages in an Accept-Language header (werkzeug's parsed values, best
    first): zh-TW, zh-HK, zh-MO and zh-Hant-* read Traditional Chinese, other zh Simplified."""
    for tag, _quality in header_values:
        parts = tag.lower().replace("_", "-").split("-")
        if parts[0] == "zh":
            return "zh_Hant_TW" if {"hant", "tw", "hk", "mo"} & set(parts[1:]) else "zh_Hans_CN"
        if parts[0] == "en":
            return "en"
    return None


def select_locale() -> str:
    """Outside a request (CLI, scheduled jobs) English, unless a caller forces one (`speaking`: a
    command speaks its terminal's language). The API follows
    Accept-Language (English when it names none of ours: what the API always spoke). Pages follow
    ?lang=, then the signed-in user's choice, the session's (a visitor's), then Accept-Language."""
    if not has_request_context():
        return _outside_app.get()
    if request.path.startswith("/api"):
        return accepted_locale(request.accept_languages) or "en"
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        return chosen
    from labs.accounts.auth import current_user  # labs.accounts raises labs.errors, which import this
    user = current_user()
    if user is not None and user.locale in LANGUAGES:
        return user.locale
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return accepted_locale(request.accept_languages) or DEFAULT


def remember_choice():
    """A page opened with ?lang= (a visitor's language links) keeps the choice in the session. A
    GET writes nothing else: a signed-in user's links post it to their account (web.set_language)."""
    chosen = request.args.get("lang")
    if not request.path.startswith("/api") and chosen in LANGUAGES:
        session["lang"] = chosen
    return None


def vary_on_language(response):
    # What a response says depends on Accept-Language: caches must not hand one language to all.
    # Written directly: response.vary parses the header into a set and writes it back, at every request.
    vary = response.headers.get("Vary")
    if not vary:
        response.headers["Vary"] = "Accept-Language"
    elif "accept-language" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Accept-Language"
    return response


# Outside an app (a service called from a script or a test without one), render_in's language and
# the catalogs read straight from labs/translations.
_outside_app: ContextVar[str] = ContextVar("labs_locale_outside_app", default="en")
TRANSLATIONS = Path(__file__).with_name("translations")


@cache
def _catalog(locale: str) -> support.NullTranslations:
    return support.Translations.load(str(TRANSLATIONS), [locale])


def _gettext(text: str) -> str:
    if has_app_context():
        return gettext(text)
    locale = _outside_app.get()
    return text if locale == "en" else _catalog(locale).ugettext(text)


def language() -> str:
    """The current language's key in LANGUAGES."""
    return str(get_locale() or "en") if has_app_context() else _outside_app.get()


# Our own names where the CLDR name is not the one people use: 北京时间, not 中国时间.
ZONE_NAMES = {"Asia/Shanghai": N_("Beijing time")}


def zone_name(zone: ZoneInfo) -> str:
    name = ZONE_NAMES.get(zone.key)
    return _gettext(name) if name else get_timezone_name(zone, "long", locale=language())


def human_date(day: dt.date) -> str:
    """3 Dec 2026 / 2026年12月3日, in the current language."""
    return format_skeleton("yMMMd", day, locale=language())


def _zone_of(moment: dt.datetime) -> ZoneInfo:
    """A time already in a zone (a lab's) stays there; a UTC one (from the database) is shown in
    the service's zone."""
    if isinstance(moment.tzinfo, ZoneInfo) and moment.tzinfo.key != "UTC":
        return moment.tzinfo
    return ZoneInfo(current_app.config["TIMEZONE"] if has_app_context() else DEFAULT_ZONE)


def _wall_clock(moment: dt.datetime, until: dt.datetime | None = None) -> str:
    locale = Locale.parse(language())
    pattern = str(locale.datetime_formats["medium"])  # how the language joins a date and a time

    def one(at: dt.datetime, time: str) -> str:
        return pattern.format(time, format_skeleton("yMMMd", at.date(), locale=locale))

    start = format_skeleton("Hm", moment.time(), locale=locale)
    if until is None:
        return one(moment, start)
    end = format_skeleton("Hm", until.time(), locale=locale)
    return one(moment, f"{start}–{end}") if until.date() == moment.date() else f"{one(moment, start)} – {one(until, end)}"


def human_moment(moment: dt.datetime, zone: ZoneInfo | None = None) -> str:
    """An instant as wall-clock time with the zone named: "Dec 3, 2026, 10:00 Beijing time",
    "2026年12月3日 10:00 北京时间"; in `zone`, else as _zone_of says."""
    zone = zone or _zone_of(moment)
    return f"{_wall_clock(moment.astimezone(zone))} {zone_name(zone)}"


def human_span(start: dt.datetime, end: dt.datetime, zone: ZoneInfo | None = None) -> str:
    """"Dec 3, 2026, 10:00–12:00 Beijing time"; both dates when the span crosses midnight."""
    zone = zone or _zone_of(start)
    return f"{_wall_clock(start.astimezone(zone), end.astimezone(zone))} {zone_name(zone)}"


def _shown(value):
    if isinstance(value, Message):
        return render(value)
    if isinstance(value, Span):
        return human_span(value.start, value.end)
    if isinstance(value, (list, tuple)):
        return format_list([str(_shown(item)) for item in value], style="or", locale=language())  # alternatives: "a or b"
    if isinstance(value, dt.datetime):
        return human_moment(value) if value.tzinfo else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return human_date(value)
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return value


def render(message: str, params: dict | None = None) -> str:
    """`message` (an English msgid with %(name)s placeholders) in the current language, its params
    shown for people: dates and times in local, human form, Message params translated too."""
    if isinstance(message, Message) and message.params:
        message, params = message.msgid, {**message.params, **(params or {})}
    shown = {key: _shown(value) for key, value in (params or {}).items()}
    text = _gettext(message)
    return text % shown if shown else text


def render_in(locale: str, message: str, params: dict | None = None) -> str:
    """`render` in a given language (a notice for its recipient, whoever triggered it)."""
    if has_app_context():
        with force_locale(locale):
            return render(message, params)
    token = _outside_app.set(locale)
    try:
        return render(message, params)
    finally:
        _outside_app.reset(token)


# --- the command line ---------------------------------------------------------------------------------

# POSIX locale names (zh_CN.UTF-8, zh_TW.Big5, zh_HK) by language and territory: ours they read.
TERMINAL_LANGUAGES = {"zh_CN": "zh_Hans_CN", "zh_SG": "zh_Hans_CN",
                      "zh_TW": "zh_Hant_TW", "zh_HK": "zh_Hant_TW", "zh_MO": "zh_Hant_TW"}


def terminal_language(environ: Mapping[str, str] = os.environ) -> str:
    """The language a terminal's locale asks for. Its messages follow the first of LC_ALL,
    LC_MESSAGES and LANG that is set and not empty, as POSIX says; Chinese of the mainland and
    Singapore reads Simplified, of Taiwan, Hong Kong and Macao Traditional; C, POSIX, any other
    locale or none English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if environ.get(name):
            return TERMINAL_LANGUAGES.get(environ[name][:5], "en")
    return "en"


@contextmanager
def speaking(locale: str):
    """Render outside a request in `locale` (a command's output) until the block ends, in app
    contexts opened within it too (select_locale asks). Enter it before them: an app context
    keeps the language it first rendered in."""
    token = _outside_app.set(locale)
    try:
        yield
    finally:
        _outside_app.reset(token)


@cache
def _locale(tag: str) -> Locale:
    return Locale.parse(tag)


def _selected_locale() -> Locale:
    # flask-babel parses a selector's string every request (a file-system check and a parse); a
    # Locale it takes as it is, and there are three of ours.
    return _locale(select_locale())


def init_app(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    Babel(app, locale_selector=_selected_locale)
    app.before_request(remember_choice)
    app.after_request(vary_on_language)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, LANGUAGE_TAGS=TAGS)
    # Text from the database that may be a msgid (a lab's discipline): translated if catalogued.
    # Not _(): Jinja's _ treats its argument as a format string, and a % in free text would break it.
    app.jinja_env.filters["translated"] = render
