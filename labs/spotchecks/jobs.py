"""The spot-checks' scheduled work, run by `labs scheduler` (one leader; each job idempotent):
uploaded registry files imported, the Friday file for the credit publicity system, reminders."""
from __future__ import annotations

import datetime as dt
import os

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from labs.accounts.models import Enterprise, User
from labs.i18n import DEFAULT, N_, render_in
from labs.notify import Notification, notify
from labs.spotchecks import results
from labs.spotchecks.models import RegistryInspector, Task, TaskInstrument
from labs.spotchecks.registry import run_queued_imports
from labs.verification import service as verification_service
from labs.verification.models import VerifiedInstrument

DUE_SOON_DAYS = 3  # tasks and rectification deadlines this close are reminded
VERIFICATION_DUE_DAYS = 30


def export_dir() -> str:
    return os.environ.get("LABS_EXPORT_DIR") or os.path.join(current_app.instance_path, "exports")


def weekly_credit_export(session: Session) -> None:
    """Fridays: the week's concluded results for the national enterprise credit publicity system."""
    results.export_week(session, export_dir())


def _once_today(session: Session, user_id: int, subject: str, today: dt.date) -> bool:
    """Whether this reminder is new today (a second run of the job the same day sends nothing)."""
    start = dt.datetime.combine(today, dt.time(), dt.timezone.utc) - dt.timedelta(hours=8)
    return session.scalar(select(Notification.id).where(Notification.user_id == user_id, Notification.subject == subject,
                                                        Notification.created_at >= start)) is None


def _remind(session: Session, users: list[User], today: dt.date, subject: str, body: str) -> int:
    # Each user's subject is written in their language: that is the one a reminder already sent has.
    users = [u for u in users if _once_today(session, u.id, render_in(u.locale or DEFAULT, subject), today)]
    notify(session, users, subject, body)
    return len(users)


def _members(session: Session, enterprise_id: int) -> list[User]:
    return list(session.scalars(select(User).where(User.enterprise_id == enterprise_id, User.active)))


def reminders(session: Session, today: dt.date | None = None) -> int:
    """Daily: tasks near their due date (to their inspectors), rectification deadlines and
    verifications falling due within 30 days (to the owner enterprise). Returns how many were sent."""
    today = today or verification_service.local_today()
    soon = today + dt.timedelta(days=DUE_SOON_DAYS)
    sent = 0
    for task in session.scalars(select(Task).where(Task.due_on.is_not(None), Task.due_on <= soon,
                                                   Task.concluded_on.is_(None))):
        inspectors = list(session.scalars(select(User).join(RegistryInspector, RegistryInspector.user_id == User.id)
                                          .where(RegistryInspector.id.in_(task.inspector_ids), User.active)))
        params = {"entity": task.entity.name, "day": task.due_on, "plan": task.plan.name}
        sent += _remind(session, inspectors, today, N_("Spot-check task due soon: %(entity)s (%(day)s)") % params,
                        N_("The spot-check of %(entity)s in plan %(plan)s is due by %(day)s.") % params)
    for ti in session.scalars(select(TaskInstrument).where(TaskInstrument.out_of_use, TaskInstrument.rectify_by <= soon)):
        enterprise = session.scalar(select(Enterprise).where(Enterprise.credit_code == ti.task.entity.credit_code))
        if enterprise is not None:
            params = {"serial": ti.instrument.serial_number, "day": ti.rectify_by}
            sent += _remind(session, _members(session, enterprise.id), today,
                            N_("Rectification due soon: %(serial)s") % params,
                            N_("%(serial)s failed the spot-check: rectify it and pass re-verification by %(day)s; it "
                               "may not be used until then.") % params)
    due = today + dt.timedelta(days=VERIFICATION_DUE_DAYS)
    for instrument in session.scalars(select(VerifiedInstrument).where(VerifiedInstrument.next_due.is_not(None),
                                                                       VerifiedInstrument.next_due <= due)):
        params = {"serial": instrument.serial_number, "model": instrument.model or instrument.kind,
                  "day": instrument.next_due}
        sent += _remind(session, _members(session, instrument.enterprise_id), today,
                        N_("Verification due soon: %(serial)s") % params,
                        N_("The verification of %(model)s %(serial)s is valid until %(day)s: apply for verification "
                           "in time.") % params)
    return sent


JOBS = [
    (run_queued_imports, {"trigger": "interval", "seconds": 3}),
    (weekly_credit_export, {"trigger": "cron", "day_of_week": "fri", "hour": 17}),
    (reminders, {"trigger": "cron", "hour": 8}),
]
