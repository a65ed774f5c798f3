"""Languages of the pages: Simplified Chinese by default, Traditional Chinese and English selectable."""
from __future__ import annotations

from flask import request, session
from flask_babel import Babel

LANGUAGES = {"zh_Hans_CN": "简体中文", "zh_Hant_TW": "繁體中文", "en": "English"}
DEFAULT = "zh_Hans_CN"


def select_locale() -> str:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
        return chosen
    return session.get("lang") if session.get("lang") in LANGUAGES else DEFAULT


def init_app(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
