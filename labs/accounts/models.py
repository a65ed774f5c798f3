from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labs.db import Base, UTCDateTime, utcnow
from labs.i18n import N_

ROLES = ("admin", "lab_manager", "technician", "inspector", "enterprise")
ROLE_NAMES = {"admin": N_("administrator"), "lab_manager": N_("lab manager"), "technician": N_("technician"),
              "inspector": N_("inspector"), "enterprise": N_("enterprise")}


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    calendar_token: Mapped[str] = mapped_column(String(64), unique=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by an administrator's password reset: the one-time password only lets its holder choose a
    # new one (pages send them to the change page, the API answers 403 password_change_required).
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The language chosen on the pages (a key of labs.i18n.LANGUAGES); None follows Accept-Language.
    locale: Mapped[str | None] = mapped_column(String(16), nullable=True)

    enterprise: Mapped[Enterprise | None] = relationship()


class ApiToken(Base):
    """Bearer tokens; only a SHA-256 of the token is stored, so a leaked table grants nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()


class UserSession(Base):
    """A signed-in browser. The cookie carries a random secret and this row is what makes it valid:
    logging out deletes the row, so a copy of the cookie ends with it. Only a SHA-256 is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)

    user: Mapped[User] = relationship()


class SignInFailure(Base):
    """One failed sign-in, by the e-mail address tried (known or not) and the client's address. The
    throttle counts recent rows in the database, so every worker process and host sees the same
    counts; `purge_sign_in_records` deletes the old ones."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
