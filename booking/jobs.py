"""The booking package's scheduled work. Each job is idempotent: running it twice changes nothing."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from booking import service
from booking.models import Booking
from labs.db import utcnow
from labs.i18n import DEFAULT, N_, render_in
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
        subject = N_("Overdue approvals in %(code)s on %(day)s") % {"code": lab.code, "day": today}
        # Each manager's subject is in their own language: that is the one to look for.
        unreminded = [m for m in lab.managers if session.scalar(select(Notification.id).where(
            Notification.user_id == m.id, Notification.subject == render_in(m.locale or DEFAULT, subject))) is None]
        notify(session, unreminded, subject, N_("%(n)s requests are past their approval deadline: %(ids)s") % {
            "n": len(bookings), "ids": ", ".join(f"#{b.id}" for b in bookings)})


JOBS = [
    (lapse_missing_documents, {"trigger": "interval", "minutes": 10}),
    (remind_overdue_approvals, {"trigger": "cron", "hour": 1, "minute": 0}),
]
