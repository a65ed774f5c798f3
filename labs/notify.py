"""In-app notifications, and e-mail when SMTP is configured."""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage

from flask import current_app, has_app_context
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from labs.accounts.models import User
from labs.db import Base, UTCDateTime, utcnow

log = logging.getLogger(__name__)


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


def notify(session: Session, users: list[User], subject: str, body: str) -> None:
    for user in users:
        session.add(Notification(user_id=user.id, subject=subject, body=body))
        _send_mail(user.email, subject, body)


def notify_enterprise(session: Session, enterprise_id: int, subject: str, body: str) -> None:
    members = session.scalars(select(User).where(User.enterprise_id == enterprise_id, User.active)).all()
    notify(session, list(members), subject, body)


def _send_mail(to: str, subject: str, body: str) -> None:
    if not has_app_context() or not current_app.config.get("SMTP_HOST"):
        return
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = current_app.config["MAIL_FROM"], to, subject
    msg.set_content(body)
    try:
        with smtplib.SMTP(current_app.config["SMTP_HOST"], current_app.config["SMTP_PORT"], timeout=10) as smtp:
            smtp.send_message(msg)
    except OSError:
        # The in-app notification is the record; a mail outage must not undo a booking.
        log.exception("could not send mail to %s", to)


def notifications_for(session: Session, user: User, limit: int = 100) -> list[Notification]:
    """The user's own notifications, newest first."""
    return list(session.scalars(select(Notification).where(Notification.user_id == user.id)
                                .order_by(Notification.id.desc()).limit(limit)))
