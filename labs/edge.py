"""The service at its edge: behind a reverse proxy, its public address, the size of a request, input
no handler should see, and the headers every response carries.

- `LABS_TRUSTED_PROXIES` (N, default 0): how many proxies in front of the service add
  X-Forwarded-For and X-Forwarded-Proto (werkzeug's ProxyFix trusts the last N of each). With 0 the
  headers are ignored, so a client cannot claim another address or scheme.
- `LABS_PUBLIC_URL` (e.g. https://labs.example.gov.cn): the address people and calendar programs
  reach the service at. Every absolute URL the service writes (calendar feed addresses, a
  certificate's QR code) is on it, whatever Host header a request carries.
- `LABS_SECURE_COOKIES` (1 behind TLS): the session cookie is sent over HTTPS only.
- Bodies above MAX_BODY_BYTES are refused with 413 before they are read. A view that takes an
  upload sets its own limit (`request.max_content_length = ...`) before it reads the body.
"""
from __future__ import annotations

import secrets
import re
from urllib.parse import urlsplit

from flask import g, render_template, request, session
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from labs.api import has_body, problem
from labs.i18n import N_, render

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: no form or JSON document of this service comes near it
MAX_JSON_DEPTH = 32  # the deepest document the API reads is 4 levels deep


class PublicAddress:
    """WSGI middleware: the request's host and scheme are the configured public ones."""

    def __init__(self, wsgi_app, public_url: str):
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
                or parts.query or parts.fragment or parts.username:
            raise ValueError(f"LABS_PUBLIC_URL must be like https://labs.example.gov.cn, not {public_url!r}")
        self.wsgi_app = wsgi_app
        self.scheme = parts.scheme
        self.host = parts.netloc.lower()
        self.hostname = parts.hostname
        self.port = str(parts.port or (443 if parts.scheme == "https" else 80))

    def __call__(self, environ, start_response):
        environ["labs.request_host"] = environ.get("HTTP_HOST")
        environ.update({"HTTP_HOST": self.host, "SERVER_NAME": self.hostname, "SERVER_PORT": self.port,
                        "wsgi.url_scheme": self.scheme})
        return self.wsgi_app(environ, start_response)


def _wrap(app) -> None:
    public_url = app.config.get("PUBLIC_URL")
    if public_url:
        app.wsgi_app = PublicAddress(app.wsgi_app, public_url)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # Outermost: the forwarded client address and scheme first, then the public address on top.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_port=0, x_prefix=0)


# --- requests no handler should see --------------------------------------------------------------

def _refused(status: int, detail: str, page_detail: str):
    if request.path.startswith("/api"):
        return problem(status, detail)
    title = _("Request too large") if status == 413 else _("Request refused")
    return render_template("error.html", title=title, detail=page_detail), status


def _too_large(_error: RequestEntityTooLarge):
    limit = (request.max_content_length or MAX_BODY_BYTES) // 1024 // 1024  # an upload route sets its own
    return _refused(413, render(N_("the request body is larger than %(limit)s MiB"), {"limit": limit}),
                    _("The request is larger than %(limit)s MiB.", limit=limit))


# Control characters (C0, DEL, C1: category Cc), the line and paragraph separators (Zl, Zp) and lone
# surrogates (Cs), as one pattern: a path is checked at every request.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _refuse_hostile_path():
    """A path holding a control character (a NUL, a newline) or a lone surrogate names nothing here;
    refused before routing, so no handler passes it to the database (PostgreSQL refuses NUL)."""
    if CONTROL.search(request.path):
        return _refused(400, render(N_("the path holds a control character")),
                        _("The address holds a character that is not allowed."))
    return None


def _depth(value) -> int:
    """How deep a parsed JSON document nests, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((sub, level + 1) for sub in item.values())
        elif isinstance(item, list):
            stack.extend((sub, level + 1) for sub in item)
    return deepest


def _refuse_deep_json():
    """Python's JSON parser recurses once per level: 100 000 levels of '[' end in a RecursionError
    (a 500), and deep documents that do parse would strain every walker after it. Parsed here once
    (the result is cached for the handler); too deep is a 400 naming the limit."""
    if not request.is_json or not has_body():
        return None
    try:
        document = request.get_json(silent=True)
    except RecursionError:
        document, too_deep = None, True
    else:
        too_deep = _depth(document) > MAX_JSON_DEPTH
    if too_deep:
        detail = render(N_("the JSON document nests deeper than %(depth)s levels"), {"depth": MAX_JSON_DEPTH})
        return problem(400, detail) if request.path.startswith("/api") else \
            _refused(400, "", _("The request is not valid."))
    return None


# --- headers -------------------------------------------------------------------------------------

def csp_nonce() -> str:
    """This response's nonce for the page's own inline scripts (<script nonce="...">)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def _content_security_policy() -> str:
    nonce = f" 'nonce-{g.csp_nonce}'" if "csp_nonce" in g else ""
    # Swagger UI (/api/docs) sets element styles from its script and uses data: images in its CSS.
    docs = request.path.startswith("/api/docs")
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self'{nonce}",
        "style-src 'self'" + (" 'unsafe-inline'" if docs else ""),
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


STATIC_HEADERS = (("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"),
                  ("Referrer-Policy", "same-origin"))


def _headers(response):
    headers = response.headers
    present = {name.lower() for name in headers.keys()}  # one pass: setdefault scans them each time
    if "content-security-policy" not in present:
        headers.add("Content-Security-Policy", _content_security_policy())
    for name, value in STATIC_HEADERS:
        if name.lower() not in present:
            headers.add(name, value)
    # Signed in: the page was rendered for a user (labs.accounts.auth.current_user keeps them in g),
    # or the request carries a signed-in session or a bearer token.
    signed_in = g.get("actor") is not None or "user_id" in session or "Authorization" in request.headers
    if signed_in or request.path.startswith("/calendar/"):
        # A signed-in page or a feed (its address is its key) is no one else's: never stored.
        headers["Cache-Control"] = "no-store"
        headers.setdefault("Pragma", "no-cache")
    return response


def init_app(app) -> None:
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config.get("SECURE_COOKIES"))
    if app.config.get("SECURE_COOKIES"):
        app.config["PREFERRED_URL_SCHEME"] = "https"
    app.config.setdefault("OPENAPI_SWAGGER_UI_CONFIG", {"validatorUrl": None})  # no call to a validator site
    _wrap(app)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    # Called first in the app factory, so these run before every other before_request function.
    app.before_request(_refuse_hostile_path)
    app.before_request(_refuse_deep_json)
    app.after_request(_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
