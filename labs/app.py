"""The application factory: the one composition root."""
from __future__ import annotations

import os

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    from labs import api, config, db, edge, i18n, web
    from labs.accounts.api import blp as accounts_api
    from labs.calendar import service as calendar_service
    from labs.catalog.api import blp as catalog_api
    from labs.field.api import blp as field_api
    from booking.api import blp as booking_api
    from booking.feeds import blp as feeds
    from booking.staff_views import blp as staff_pages
    from booking.views import blp as booking_pages
    from labs.spotchecks.api import blp as spotchecks_api
    from labs.verification.api import blp as verification_api
    from labs.verification.views import blp as verification_pages
    from labs.spotchecks.views import blp as spotcheck_pages
    from labs.dispatch.api import blp as dispatch_api
    from labs.dispatch.views import blp as dispatch_pages
    from labs.services.api import blp as services_api
    from labs.services.views import blp as services_pages

    app = Flask(__name__, instance_path=os.environ.get("LABS_INSTANCE_PATH") or None)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(config.from_environment(app.instance_path))
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False
    edge.init_app(app)  # first: proxies, public address, size limits and hostile input before anything else
    db.init_app(app)
    i18n.init_app(app)
    rest = api.init_app(app)
    calendar_service.init_app(app)  # working days see the holiday schedules stored in the database
    for blp in (accounts_api, catalog_api, booking_api, verification_api, spotchecks_api, field_api, services_api,
                dispatch_api):
        rest.register_blueprint(blp)
    app.register_blueprint(feeds)
    web.init_app(app)
    app.register_blueprint(booking_pages)
    app.register_blueprint(verification_pages)
    app.register_blueprint(spotcheck_pages)
    app.register_blueprint(dispatch_pages)
    app.register_blueprint(staff_pages)
    app.register_blueprint(services_pages)
    for blp in (accounts_api, catalog_api, booking_api, verification_api, spotchecks_api, field_api, services_api,
                dispatch_api):
        # The API authenticates by bearer token only, never by cookie, so it needs no CSRF token.
        web.csrf.exempt(blp)
    return app
