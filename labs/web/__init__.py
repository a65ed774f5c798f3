"""The pages' shell: the layout, signing in, languages, CSRF protection and the helpers every page
shares (labs.web.common). Each feature's pages live with it (booking.views, with its templates in
booking/templates/booking/); the app factory registers them.

Translations: message ids are English, Simplified Chinese by default; after changing texts run
    pybabel extract -F labs/babel.cfg -k lazy_gettext -k N_ --no-location --sort-output --no-wrap -o labs/translations/messages.pot labs booking devices
    pybabel update -i labs/translations/messages.pot -d labs/translations --no-fuzzy-matching --no-wrap --ignore-obsolete
    pybabel compile -d labs/translations
and commit the .po and .mo files (a fresh clone needs no build step).
"""
from __future__ import annotations

from flask import send_from_directory
from flask_wtf import CSRFProtect

csrf = CSRFProtect()


def init_app(app) -> None:
    from labs.web import admin, common, views
    # The CSRF token guards the forms; SameSite=Lax also keeps the session cookie off cross-site POSTs.
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:  # Flask's default is None, not absent
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    csrf.init_app(app)
    common.init_app(app)
    for module in (views, admin):
        app.register_blueprint(module.blp)
    _serve_swagger_ui(app)


def _serve_swagger_ui(app) -> None:
    """flask-smorest's /api/docs loads Swagger UI from OPENAPI_SWAGGER_UI_URL; swagger-ui-bundle
    ships those files, so the docs work without a network. The rule is more specific than
    /static/<path>, so it wins."""
    from swagger_ui_bundle import swagger_ui_path
    prefix = app.config["OPENAPI_SWAGGER_UI_URL"].rstrip("/")
    app.add_url_rule(f"{prefix}/<path:filename>", "swagger_ui_files",
                     lambda filename: send_from_directory(swagger_ui_path, filename))
