"""In-app notifications, and e-mail when SMTP is configured.

Mail is queued on the session and sent only after its transaction commits: a rolled-back booking
must not announce itself, and a slow SMTP server must not hold the transaction's row locks.
"""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage

from flask import current_app, has_app_context
from sqlalchemy import ForeignKey, String, Text, event, select
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
        _queue_mail(session, user.email, subject, body)


def notify_enterprise(session: Session, enterprise_id: int, subject: str, body: str) -> None:
    members = session.scalars(select(User).where(User.enterprise_id == enterprise_id, User.active)).all()
    notify(session, list(members), subject, body)


_OUTBOX = "labs.notify.outbox"


def _queue_mail(session: Session, to: str, subject: str, body: str) -> None:
    if not has_app_context() or not current_app.config.get("SMTP_HOST"):
        return
    config = current_app.config
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = config["MAIL_FROM"], to, subject
    msg.set_content(body)
    # The server is captured now: the commit may happen where no app context is pushed.
    session.info.setdefault(_OUTBOX, []).append((config["SMTP_HOST"], config["SMTP_PORT"], msg))


@event.listens_for(Session, "after_commit")
def _send_queued_mail(session: Session) -> None:
    for host, port, msg in session.info.pop(_OUTBOX, []):
        try:
            with smtplib.SMTP(host, port, timeout=10) as smtp:
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException):
            # The in-app notification is the record; a mail outage must not fail a committed change.
            log.exception("could not send mail to %s", msg["To"])


@event.listens_for(Session, "after_rollback")
def _drop_queued_mail(session: Session) -> None:
    session.info.pop(_OUTBOX, None)


@event.listens_for(Session, "after_transaction_end")
def _drop_mail_of_ended_transaction(session: Session, transaction) -> None:
    # Session.close() ends an uncommitted transaction without an after_rollback event; after a
    # commit the outbox is already empty. Savepoints ending are not the unit of work ending.
    if transaction.parent is None:
        session.info.pop(_OUTBOX, None)


def notifications_for(session: Session, user: User, limit: int = 100) -> list[Notification]:
    """The user's own notifications, newest first."""
    return list(session.scalars(select(Notification).where(Notification.user_id == user.id)
                                .order_by(Notification.id.desc()).limit(limit)))
