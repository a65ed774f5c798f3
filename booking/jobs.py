"""The booking package's scheduled work. Each job is idempotent: running it twice changes nothing."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from booking import service
from booking.models import Booking
from labs.db import utcnow
from labs.notify import Notification, notify


def lapse_missing_documents(session: Session, now: dt.datetime | None = None) -> None:
    service.lapse_missing_documents(session, now)


def remind_overdue_approvals(session: Session, now: dt.datetime | None = None) -> None:
    """Once a day: tell each lab's managers which requests are past their approval deadline. The
    reminder names the lab's local date, and a manager who has that day's reminder gets no second."""
    now = now or utcnow()
    pending = session.scalars(select(Booking).options(selectinload(Booking.lab))
                              .where(Booking.status == "requested"))
    by_lab: dict = {}
    for booking in pending:
        if service.is_overdue(booking, now):
            by_lab.setdefault(booking.lab, []).append(booking)
    for lab, bookings in by_lab.items():
        today = now.astimezone(ZoneInfo(lab.timezone)).date()
        subject = f"逾期未审批 Overdue approvals in {lab.code} on {today}"
        reminded = set(session.scalars(select(Notification.user_id).where(Notification.subject == subject)))
        ids = ", ".join(f"#{b.id}" for b in bookings)
        notify(session, [m for m in lab.managers if m.id not in reminded], subject,
               f"{len(bookings)} requests are past their approval deadline: {ids}")


JOBS = [
    (lapse_missing_documents, {"trigger": "interval", "minutes": 10}),
    (remind_overdue_approvals, {"trigger": "cron", "hour": 1, "minute": 0}),
]
