"""The spot-checks' scheduled work, run by `labs scheduler` (one leader; each job idempotent):
uploaded registry files imported, the Friday file for the credit publicity system, reminders."""
from __future__ import annotations

import datetime as dt
import os

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from labs.accounts.models import Enterprise, User
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
    users = [u for u in users if _once_today(session, u.id, subject, today)]
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
        sent += _remind(session, inspectors, today, f"抽查任务即将到期：{task.entity.name}（{task.due_on.isoformat()}）",
                        f"计划《{task.plan.name}》中对 {task.entity.name} 的抽查任务应于 {task.due_on.isoformat()} 前完成。")
    for ti in session.scalars(select(TaskInstrument).where(TaskInstrument.out_of_use, TaskInstrument.rectify_by <= soon)):
        enterprise = session.scalar(select(Enterprise).where(Enterprise.credit_code == ti.task.entity.credit_code))
        if enterprise is not None:
            sent += _remind(session, _members(session, enterprise.id), today,
                            f"整改期限临近：{ti.instrument.serial_number}",
                            f"监督抽查不合格的 {ti.instrument.serial_number} 应于 {ti.rectify_by.isoformat()} "
                            f"前整改并复检合格，复检前不得使用。")
    due = today + dt.timedelta(days=VERIFICATION_DUE_DAYS)
    for instrument in session.scalars(select(VerifiedInstrument).where(VerifiedInstrument.next_due.is_not(None),
                                                                       VerifiedInstrument.next_due <= due)):
        sent += _remind(session, _members(session, instrument.enterprise_id), today,
                        f"检定即将到期：{instrument.serial_number}",
                        f"{instrument.model or instrument.kind} {instrument.serial_number} 的检定有效期至 "
                        f"{instrument.next_due.isoformat()}，请及时申请检定。")
    return sent


JOBS = [
    (run_queued_imports, {"trigger": "interval", "seconds": 3}),
    (weekly_credit_export, {"trigger": "cron", "day_of_week": "fri", "hour": 17}),
    (reminders, {"trigger": "cron", "hour": 8}),
]
