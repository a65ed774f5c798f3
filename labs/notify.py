"""In-app notifications, and e-mail of them when SMTP is configured.

A notification row is the record and the outbox at once: it commits (or rolls back) with the
change it announces, and `send_pending_mail`, a job of `labs scheduler`, mails the new ones. So a
rolled-back change announces nothing, and a slow or unreachable mail server never delays a
request or holds its locks.
"""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import ForeignKey, Index, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, contains_eager, mapped_column, relationship

from labs.accounts.models import User
from labs.db import Base, UTCDateTime, utcnow
from labs.i18n import DEFAULT, render_in

log = logging.getLogger(__name__)

MAIL_ATTEMPTS = 5  # then the notice stays in the app only
MAIL_WINDOW = dt.timedelta(days=1)  # older notices are not mailed (e.g. when SMTP is configured late)
MAIL_BATCH = 200


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    mailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The booking the notice is about, for its link (named by table: labs does not import booking).
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), nullable=True)

    user: Mapped[User] = relationship()


def notify(session: Session, users: list[User], subject: str, body: str, booking_id: int | None = None) -> None:
    """Subject and body are messages (N_, their params bound), written down in each recipient's
    language: the one they chose on the pages, else Simplified Chinese. The mail says the same."""
    for user in users:
        locale = user.locale or DEFAULT
        session.add(Notification(user_id=user.id, subject=render_in(locale, subject)[:200],
                                 body=render_in(locale, body), booking_id=booking_id))


def notify_enterprise(session: Session, enterprise_id: int, subject: str, body: str,
                      booking_id: int | None = None) -> None:
    members = session.scalars(select(User).where(User.enterprise_id == enterprise_id, User.active)).all()
    notify(session, list(members), subject, body, booking_id)


def send_pending_mail(session: Session, now: dt.datetime | None = None) -> int:
    """Scheduled: mail the notifications not mailed yet, over one SMTP connection; returns how many
    went out. A failed attempt is counted and retried on the next run, at most MAIL_ATTEMPTS times."""
    config = current_app.config
    if not config.get("SMTP_HOST"):
        return 0
    now = now or utcnow()
    pending = session.scalars(select(Notification).join(Notification.user)
                              .options(contains_eager(Notification.user)).where(
        Notification.mailed_at.is_(None), Notification.mail_attempts < MAIL_ATTEMPTS,
        Notification.created_at > now - MAIL_WINDOW, User.active)
        .order_by(Notification.id).limit(MAIL_BATCH).with_for_update(skip_locked=True, of=Notification)).all()
    if not pending:
        return 0
    for notice in pending:
        notice.mail_attempts += 1  # a run that fails counts against every notice it was to send
    sent = 0
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
            for notice in pending:
                msg = EmailMessage()
                msg["From"], msg["To"], msg["Subject"] = config["MAIL_FROM"], notice.user.email, notice.subject
                msg.set_content(notice.body)
                smtp.send_message(msg)
                notice.mailed_at = utcnow()
                sent += 1
    except (OSError, smtplib.SMTPException):
        log.exception("mail server %s:%s: %d of %d notices sent", config["SMTP_HOST"], config["SMTP_PORT"],
                      sent, len(pending))
    return sent


def notifications_for(session: Session, user: User, limit: int = 100, offset: int = 0) -> list[Notification]:
    """The user's own notifications, newest first."""
    return list(session.scalars(select(Notification).where(Notification.user_id == user.id)
                                .order_by(Notification.id.desc()).limit(limit).offset(offset)))


def unread_count(session: Session, user: User) -> int:
    """How many of the user's notifications they have not seen, for the page header."""
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)))


def mark_read(session: Session, user: User, now: dt.datetime | None = None) -> int:
    """The user has read all their notices; returns how many were unread."""
    unread = session.scalars(select(Notification).where(Notification.user_id == user.id,
                                                        Notification.read_at.is_(None))).all()
    for notice in unread:
        notice.read_at = now or utcnow()
    return len(unread)
