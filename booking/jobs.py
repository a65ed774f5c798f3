"""The booking package's scheduled work. Each job is idempotent: running it twice changes nothing."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from booking import service
from booking.models import Booking
from labs.db import utcnow
from labs.notify import notify


def lapse_missing_documents(session: Session) -> None:
    service.lapse_missing_documents(session)


def remind_overdue_approvals(session: Session) -> None:
    """Once a day: tell each lab's managers which requests are past their approval deadline."""
    now = utcnow()
    pending = session.scalars(select(Booking).options(selectinload(Booking.lab))
                              .where(Booking.status == "requested"))
    by_lab: dict = {}
    for booking in pending:
        if service.is_overdue(booking, now.astimezone(ZoneInfo(booking.lab.timezone)).date()):
            by_lab.setdefault(booking.lab, []).append(booking)
    for lab, bookings in by_lab.items():
        ids = ", ".join(f"#{b.id}" for b in bookings)
        notify(session, list(lab.managers), f"逾期未审批 Overdue approvals in {lab.code}",
               f"{len(bookings)} requests are past their approval deadline: {ids}")


JOBS = [
    (lapse_missing_documents, {"trigger": "interval", "minutes": 10}),
    (remind_overdue_approvals, {"trigger": "cron", "hour": 1, "minute": 0}),
]
