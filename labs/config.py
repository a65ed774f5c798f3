"""Configuration from the environment, with defaults for the embedded SQLite set-up.

There is no default secret key: a key everyone can read would let anyone sign an admin's session
cookie. Long-running commands refuse to start without one (`require_secret_key`); `labs demo`
makes one under the instance folder and reuses it.
"""
import os
import secrets
from pathlib import Path

from labs.i18n import N_

SECRET_KEY_VARIABLE = "LABS_SECRET_KEY"
MIN_SECRET_KEY_BYTES = 32
HOW_TO_MAKE_A_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


class MissingSecretKey(Exception):
    """No usable secret key: the message names the variable and how to make one."""


def from_environment(instance_path: str) -> dict:
    default_db = "sqlite:///" + str(Path(instance_path) / "labs.sqlite3")
    return {
        "DATABASE_URL": os.environ.get("LABS_DATABASE_URL", default_db),
        "SECRET_KEY": os.environ.get(SECRET_KEY_VARIABLE) or None,
        "TIMEZONE": os.environ.get("LABS_TIMEZONE", "Asia/Shanghai"),
        "SMTP_HOST": os.environ.get("LABS_SMTP_HOST"),
        "SMTP_PORT": int(os.environ.get("LABS_SMTP_PORT", "25")),
        "MAIL_FROM": os.environ.get("LABS_MAIL_FROM", "labs@localhost"),
        # Behind a reverse proxy (see labs.edge and deploy/).
        "PUBLIC_URL": os.environ.get("LABS_PUBLIC_URL") or None,
        "TRUSTED_PROXIES": int(os.environ.get("LABS_TRUSTED_PROXIES") or 0),
        "SECURE_COOKIES": _flag(os.environ.get("LABS_SECURE_COOKIES")),
        # Documents enterprises upload for their bookings: files here, never in the database.
        "DOCUMENT_DIR": os.environ.get("LABS_DOCUMENT_DIR") or str(Path(instance_path) / "documents"),
    }


def _flag(value: str | None) -> bool:
    """1, true, yes or on (any case) is true; absent, empty, 0, false, no or off is false."""
    text = (value or "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"not a yes/no value: {value!r} (use 1 or 0)")


def require_secret_key(key: str | None) -> str:
    """The key, if it is long enough to sign sessions and tokens; else MissingSecretKey."""
    how = {"variable": SECRET_KEY_VARIABLE, "command": HOW_TO_MAKE_A_KEY}
    if not key:
        raise MissingSecretKey(N_("%(variable)s is not set: the service signs session cookies with it and will not "
                                  "start without one. Make one with\n    export %(variable)s=$(%(command)s)") % how)
    if len(key.encode()) < MIN_SECRET_KEY_BYTES:
        raise MissingSecretKey(N_("%(variable)s is %(length)s bytes long; it must be at least %(minimum)s. Make one "
                                  "with\n    export %(variable)s=$(%(command)s)")
                               % {**how, "length": len(key.encode()), "minimum": MIN_SECRET_KEY_BYTES})
    return key


def demo_secret_key(instance_path: str) -> str:
    """The demo's key: read from instance/secret_key, made there (mode 0600) the first time."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return require_secret_key(path.read_text().strip())
    key = secrets.token_urlsafe(48)
    # O_EXCL: two demos starting at once cannot both write; 0600 from the start, never world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key
