"""Configuration from the environment, with defaults for the embedded SQLite set-up."""
import os
from pathlib import Path


def from_environment(instance_path: str) -> dict:
    default_db = "sqlite:///" + str(Path(instance_path) / "labs.sqlite3")
    return {
        "DATABASE_URL": os.environ.get("LABS_DATABASE_URL", default_db),
        "SECRET_KEY": os.environ.get("LABS_SECRET_KEY", "dev-only-change-me"),
        "TIMEZONE": os.environ.get("LABS_TIMEZONE", "Asia/Shanghai"),
        "SMTP_HOST": os.environ.get("LABS_SMTP_HOST"),
        "SMTP_PORT": int(os.environ.get("LABS_SMTP_PORT", "25")),
        "MAIL_FROM": os.environ.get("LABS_MAIL_FROM", "labs@localhost"),
    }
