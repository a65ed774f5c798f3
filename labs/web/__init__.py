"""Server-rendered pages."""
from flask_wtf import CSRFProtect

csrf = CSRFProtect()


def init_app(app) -> None:
    from labs.web.views import blp
    csrf.init_app(app)
    app.register_blueprint(blp)
