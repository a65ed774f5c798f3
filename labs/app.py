"""The application factory: the one composition root."""
from __future__ import annotations

import os

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    from labs import api, config, db, edge, i18n, web
    from labs.accounts.api import blp as accounts_api
    from labs.catalog.api import blp as catalog_api
    from booking.api import blp as booking_api
    from booking.feeds import blp as feeds
    from booking.views import blp as booking_pages
    from labs.spotchecks.api import blp as spotchecks_api
    from labs.verification.api import blp as verification_api
    from labs.verification.views import blp as verification_pages
    from labs.spotchecks.views import blp as spotcheck_pages

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
    for blp in (accounts_api, catalog_api, booking_api, verification_api, spotchecks_api):
        rest.register_blueprint(blp)
    app.register_blueprint(feeds)
    web.init_app(app)
    app.register_blueprint(booking_pages)
    app.register_blueprint(verification_pages)
    app.register_blueprint(spotcheck_pages)
    for blp in (accounts_api, catalog_api, booking_api, verification_api, spotchecks_api):
        # The API authenticates by bearer token only, never by cookie, so it needs no CSRF token.
        web.csrf.exempt(blp)
    return app
